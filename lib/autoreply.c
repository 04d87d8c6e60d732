/*
 * autoreply: see autoreply.h.  Recognising a message and finding its return
 * date is pure text work on a folded copy (ASCII lower case, Latin accents
 * off, typographic spaces and apostrophes made plain); pausing and resuming
 * are the database's part, at the end.
 */
#include "autoreply.h"

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "enroll.h"
#include "sequence.h"
#include "tzone.h"
#include "util.h"

/* ---- text ---- */

static int
is_word(char c)
{
	return isalnum((unsigned char)c) || (unsigned char)c >= 0x80;
}

/*
 * Lower-cased, with U+00C0..U+00FF as the Latin letter under the accent,
 * the other Latin-1 signs (a no-break space, the ordinal in "1º") as a
 * space, and U+2010..U+2015 and U+2018..U+2019 as '-' and '\''.  Other
 * bytes stay as they are: they still count as letters of a word.
 */
static char *
fold(const char *s, size_t n)
{
	/* U+00C0..U+00DF and U+00E0..U+00FF share the letters */
	static const char latin[] = "aaaaaaaceeeeiiiidnooooo ouuuuyts";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char *d = xmalloc(n + 1), *o = d;

	while (p < end) {
		if (p[0] == 0xc3 && p + 1 < end && p[1] >= 0x80 && p[1] <= 0xbf) {
			*o++ = p[1] == 0xbf ? 'y' : latin[(p[1] - 0x80) & 0x1f];
			p += 2;
		} else if (p[0] == 0xc2 && p + 1 < end && p[1] >= 0x80 &&
		    p[1] <= 0xbf) {
			*o++ = ' ';
			p += 2;
		} else if (p[0] == 0xe2 && p + 2 < end && p[1] == 0x80 &&
		    p[2] >= 0x80 && p[2] <= 0xbf) {
			*o++ = p[2] == 0x98 || p[2] == 0x99 ? '\'' :
			    p[2] >= 0x90 && p[2] <= 0x95 ? '-' : ' ';
			p += 3;
		} else if (*p == '\0')
			break;
		else
			*o++ = (char)tolower(*p++);
	}
	*o = '\0';
	return d;
}

/* 1 if t[i] begins the words w (folded); a w that ends in '*' is a stem
 * and may go on, any other must end where a word does.  *len gets the
 * length matched. */
static int
words_at(const char *t, size_t i, const char *w, size_t *len)
{
	size_t n = strlen(w);
	int stem = n && w[n - 1] == '*';

	if (stem)
		n--;
	if ((i > 0 && is_word(t[i - 1])) || strncmp(t + i, w, n) != 0)
		return 0;
	if (!stem && is_word(t[i + n]))
		return 0;
	*len = n;
	return 1;
}

/* ---- headers ---- */

/* The first header called name, its value's first token lower-cased
 * (up to white space, ';' or '(') in tok; 0 if there is none. */
static int
header_token(const char *block, json_t *array, const char *name, char *tok,
    size_t size)
{
	size_t nlen = strlen(name), n;
	const char *v = NULL;
	json_t *h;
	size_t i;

	json_array_foreach(array, i, h) {
		const char *hn = json_string_value(json_object_get(h, "Name"));
		if (hn && strcasecmp(hn, name) == 0) {
			v = json_string_value(json_object_get(h, "Value"));
			break;
		}
	}
	for (const char *p = block; !v && p && *p;) {
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':')
			v = p + nlen + 1;
		else if ((p = strchr(p, '\n')))
			p++;
	}
	if (!v)
		return 0;
	v += strspn(v, " \t");
	n = strcspn(v, " \t\r\n;(");
	if (n >= size)
		n = size - 1;
	for (size_t k = 0; k < n; k++)
		tok[k] = (char)tolower((unsigned char)v[k]);
	tok[n] = '\0';
	return 1;
}

static const char *
by_headers(const char *block, json_t *array)
{
	char tok[64];

	/* RFC 3834: auto-replied, auto-generated, auto-notified, or any
	 * other value than "no" */
	if (header_token(block, array, "Auto-Submitted", tok, sizeof tok) &&
	    *tok && strcmp(tok, "no") != 0)
		return "Auto-Submitted";
	if (header_token(block, array, "X-Autoreply", tok, sizeof tok) &&
	    strcmp(tok, "no") != 0 && strcmp(tok, "false") != 0)
		return "X-Autoreply";
	if (header_token(block, array, "X-Autorespond", tok, sizeof tok) &&
	    strcmp(tok, "no") != 0 && strcmp(tok, "false") != 0)
		return "X-Autorespond";
	/* bulk, junk and list say a list sent it, not that a person is
	 * away: such a message is taken for what its subject says */
	if (header_token(block, array, "Precedence", tok, sizeof tok) &&
	    strcmp(tok, "auto_reply") == 0)
		return "Precedence";
	return NULL;
}

/* ---- subjects ---- */

static const struct {
	const char *words, *lang;
} subjects[] = {
	{ "out of office", "en" }, { "out of the office", "en" },
	{ "automatic reply", "en" }, { "automatic response", "en" },
	{ "auto-reply", "en" }, { "auto reply", "en" }, { "autoreply", "en" },
	{ "auto-response", "en" }, { "auto response", "en" },
	{ "autoresponse", "en" }, { "away from the office", "en" },
	{ "on vacation", "en" }, { "on holiday", "en" }, { "ooo", "en" },
	{ "abwesenheit*", "de" }, { "abwesend", "de" },
	{ "automatische antwort", "de" }, { "nicht im buro", "de" },
	{ "nicht im buero", "de" }, { "ausser haus", "de" },
	{ "im urlaub", "de" },
	{ "absence du bureau", "fr" }, { "reponse automatique", "fr" },
	{ "absent", "fr" }, { "absente", "fr" }, { "message d'absence", "fr" },
	{ "en conge*", "fr" }, { "en vacances", "fr" },
	{ "fuera de la oficina", "es" }, { "fuera de oficina", "es" },
	{ "respuesta automatica", "es" }, { "ausente", "es" },
	{ "de vacaciones", "es" },
	{ "fora do escritorio", "pt" }, { "resposta automatica", "pt" },
	{ "ausencia", "pt" }, { "de ferias", "pt" },
	{ "fuori ufficio", "it" }, { "fuori sede", "it" },
	{ "risposta automatica", "it" }, { "assente", "it" },
	{ "assenza", "it" }, { "in ferie", "it" },
	{ "afwezig*", "nl" }, { "automatisch antwoord", "nl" },
	{ "niet aanwezig", "nl" }, { "niet op kantoor", "nl" },
	{ "buiten kantoor", "nl" }, { "met vakantie", "nl" },
};

/*
 * The length of the part of a folded subject before its first reply or
 * forward prefix ("Re:", "AW:", "RE :", ...).  A person's reply to a
 * message called "Out of office tools" is "Re: Out of office tools";
 * an automatic one puts its own words first: "Automatic reply: Re: ...".
 */
static size_t
own_part(const char *t)
{
	static const char *const prefixes[] = { "re", "aw", "antw", "sv", "r",
		"rif", "res", "rv", "wg", "fw", "fwd", "tr", "enc" };

	for (size_t i = 0; t[i]; i++) {
		size_t n = 0, k;
		if (!isalpha((unsigned char)t[i]) || (i > 0 && is_word(t[i - 1])))
			continue;
		while (isalpha((unsigned char)t[i + n]))
			n++;
		k = i + n + strspn(t + i + n, " ");
		if (t[k] != ':' || is_word(t[i + n]))
			continue;
		for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++)
			if (strlen(prefixes[p]) == n &&
			    strncmp(t + i, prefixes[p], n) == 0)
				return i;
	}
	return strlen(t);
}

static const char *
by_subject(const char *t, size_t own)
{
	size_t len;
	for (size_t i = 0; i < own; i++)
		for (size_t k = 0; k < sizeof subjects / sizeof *subjects; k++)
			if (words_at(t, i, subjects[k].words, &len) &&
			    i + len <= own)
				return subjects[k].lang;
	return NULL;
}

/* ---- return dates ---- */

/* Words that put the date after them: the day the person is back, or the
 * last day away, which is taken for the same. */
static const struct {
	const char *words, *lang;
} backs[] = {
	{ "back*", "en" }, { "return*", "en" }, { "until", "en" },
	{ "till", "en" }, { "through", "en" }, { "thru", "en" },
	{ "zuruck*", "de" }, { "zurueck*", "de" }, { "ab", "de" },
	{ "bis", "de" }, { "wieder", "de" }, { "ruckkehr", "de" },
	{ "rueckkehr", "de" },
	{ "retour", "fr" }, { "jusqu'au", "fr" }, { "jusqu'a", "fr" },
	{ "rentre*", "fr" }, { "partir du", "fr" }, { "reviens", "fr" },
	{ "reviendrai", "fr" },
	{ "regres*", "es" }, { "vuelta", "es" }, { "volver*", "es" },
	{ "vuelvo", "es" }, { "hasta", "es" }, { "partir del", "es" },
	{ "reincorpor*", "es" },
	{ "retorn*", "pt" }, { "volto", "pt" }, { "voltarei", "pt" },
	{ "ate", "pt" }, { "partir de", "pt" }, { "partir do", "pt" },
	{ "rientr*", "it" }, { "ritorn*", "it" }, { "torno", "it" },
	{ "tornero", "it" }, { "fino al", "it" }, { "fino a", "it" },
	{ "terug", "nl" }, { "tot", "nl" }, { "vanaf", "nl" }, { "weer", "nl" },
};

/* How far before a date its word may stand: "back in the office on
 * Monday, December 3" */
#define ANCHOR_REACH 48

/* Month names and the abbreviations that are no common word ("out",
 * "set", "ago" are left out), folded. */
static const struct {
	const char *name;
	int month;
} months[] = {
	{ "january", 1 }, { "jan", 1 }, { "januar", 1 }, { "janner", 1 },
	{ "jaenner", 1 }, { "janvier", 1 }, { "janv", 1 }, { "enero", 1 },
	{ "ene", 1 }, { "janeiro", 1 }, { "gennaio", 1 }, { "gen", 1 },
	{ "januari", 1 },
	{ "february", 2 }, { "feb", 2 }, { "februar", 2 }, { "fevrier", 2 },
	{ "fevr", 2 }, { "febrero", 2 }, { "fevereiro", 2 }, { "fev", 2 },
	{ "febbraio", 2 }, { "februari", 2 },
	{ "march", 3 }, { "mar", 3 }, { "marz", 3 }, { "maerz", 3 },
	{ "mrz", 3 }, { "mars", 3 }, { "marzo", 3 }, { "marco", 3 },
	{ "maart", 3 }, { "mrt", 3 },
	{ "april", 4 }, { "apr", 4 }, { "avril", 4 }, { "avr", 4 },
	{ "abril", 4 }, { "abr", 4 }, { "aprile", 4 },
	{ "may", 5 }, { "mai", 5 }, { "mayo", 5 }, { "maio", 5 },
	{ "maggio", 5 }, { "mag", 5 }, { "mei", 5 },
	{ "june", 6 }, { "jun", 6 }, { "juni", 6 }, { "juin", 6 },
	{ "junio", 6 }, { "junho", 6 }, { "giugno", 6 }, { "giu", 6 },
	{ "july", 7 }, { "jul", 7 }, { "juli", 7 }, { "juillet", 7 },
	{ "juil", 7 }, { "julio", 7 }, { "julho", 7 }, { "luglio", 7 },
	{ "lug", 7 },
	{ "august", 8 }, { "aug", 8 }, { "aout", 8 }, { "agosto", 8 },
	{ "augustus", 8 },
	{ "september", 9 }, { "sep", 9 }, { "sept", 9 }, { "septembre", 9 },
	{ "septiembre", 9 }, { "setiembre", 9 }, { "setembro", 9 },
	{ "settembre", 9 },
	{ "october", 10 }, { "oct", 10 }, { "oktober", 10 }, { "okt", 10 },
	{ "octobre", 10 }, { "octubre", 10 }, { "outubro", 10 },
	{ "ottobre", 10 }, { "ott", 10 },
	{ "november", 11 }, { "nov", 11 }, { "novembre", 11 },
	{ "noviembre", 11 }, { "novembro", 11 },
	{ "december", 12 }, { "dec", 12 }, { "dezember", 12 }, { "dez", 12 },
	{ "decembre", 12 }, { "diciembre", 12 }, { "dic", 12 },
	{ "dezembro", 12 }, { "dicembre", 12 },
};

static int
month_at(const char **q)
{
	for (size_t k = 0; k < sizeof months / sizeof *months; k++) {
		size_t n = strlen(months[k].name);
		if (strncmp(*q, months[k].name, n) == 0 && !is_word((*q)[n])) {
			*q += n;
			if (**q == '.')
				(*q)++;
			return months[k].month;
		}
	}
	return 0;
}

/* Digits at *q (all of them), their value in *v; how many. */
static int
number(const char **q, int *v)
{
	int k = 0;
	*v = 0;
	while (isdigit((unsigned char)**q)) {
		if (k < 6)
			*v = *v * 10 + (**q - '0');
		k++;
		(*q)++;
	}
	return k;
}

static void
spaces(const char **q)
{
	*q += strspn(*q, " \t\r\n,");
}

/* "de" of "3 de diciembre de 2026", "of" of "3rd of December" */
static void
filler(const char **q, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(*q, w, n) == 0 && !is_word((*q)[n])) {
		*q += n;
		spaces(q);
	}
}

/* A year after a day and month, if one follows. */
static void
year_after(const char **q, int *y)
{
	const char *r = *q;
	int v;
	spaces(&r);
	filler(&r, "de");
	if (number(&r, &v) == 4 && v >= 1900 && v < 2200 && !is_word(*r)) {
		*y = v;
		*q = r;
	}
}

static void
ordinal(const char **q)
{
	static const char *const ends[] = { "st", "nd", "rd", "th", "er" };
	if (**q == '.') {
		(*q)++;
		return;
	}
	for (size_t k = 0; k < sizeof ends / sizeof *ends; k++)
		if (strncmp(*q, ends[k], 2) == 0 && !is_word((*q)[2])) {
			*q += 2;
			return;
		}
}

/*
 * A date beginning at p (a word's start): 2026-12-03; 3.12.2026, 03.12.26
 * and 03.12. (day first); 3/12/2026 (day first, or month first when the
 * words around it are English and neither number is over 12: "until
 * 12/03/2026" is December 3); 3 December [2026], 3. Dezember, 3 de
 * diciembre de 2026, 1er décembre, 3rd of December; December 3[rd][,
 * 2026].  Its length, with year (0 if none), month and day set; 0 if no
 * date begins there.  A day and month split by '/' without a year pass
 * only with a word before them that says they are a return date;
 * "03.12." passes alone, its closing dot marking it as a date.
 */
static size_t
date_at(const char *p, int month_first, int anchored, int *y, int *m, int *d)
{
	const char *q = p, *r;
	int n1, n2, n3, k1, k2, k3;
	char sep;

	*y = 0;
	if (!isdigit((unsigned char)*q)) {
		if (!(*m = month_at(&q)))
			return 0;
		spaces(&q);
		filler(&q, "the");
		if (number(&q, d) > 2)
			return 0;
		ordinal(&q);
		if (*d == 0 || is_word(*q))
			return 0;
		year_after(&q, y);
		return (size_t)(q - p);
	}
	k1 = number(&q, &n1);
	sep = *q;
	if ((sep == '-' || sep == '/' || sep == '.') &&
	    isdigit((unsigned char)q[1])) {
		r = q + 1;
		k2 = number(&r, &n2);
		if (k2 > 2)
			return 0;
		if (k1 == 4) {		/* year first: ISO 8601 */
			if (*r != sep || !isdigit((unsigned char)r[1]))
				return 0;
			r++;
			if (number(&r, d) > 2 || is_word(*r))
				return 0;
			*y = n1;
			*m = n2;
			return (size_t)(r - p);
		}
		if (k1 > 2)
			return 0;
		if (*r == sep && isdigit((unsigned char)r[1])) {
			r++;
			k3 = number(&r, &n3);
			if (k3 != 2 && k3 != 4)
				return 0;
			*y = k3 == 2 ? 2000 + n3 : n3;
		} else if (sep == '.' && *r == '.')
			r++;	/* "ab dem 03.12." */
		else if (sep != '/' || !anchored)
			return 0;
		if (is_word(*r))
			return 0;
		if (sep == '/' && n1 <= 12 && (n2 > 12 || month_first)) {
			*m = n1;
			*d = n2;
		} else {
			*d = n1;
			*m = n2;
		}
		return (size_t)(r - p);
	}
	if (k1 > 2)
		return 0;
	ordinal(&q);
	spaces(&q);
	filler(&q, "de");
	filler(&q, "of");
	if (!(*m = month_at(&q)))
		return 0;
	*d = n1;
	year_after(&q, y);
	return (size_t)(q - p);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t
civil_days(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
valid_date(int y, int m, int d)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

/* How far back a day without a year is taken for a day past ("from 20
 * November until 3 December"), not the same day next year. */
#define PAST_REACH 60
/* How far ahead a return date may be; beyond, it is something else. */
#define AHEAD_REACH 366

/* The language of the word that puts the date at t[i] after it, or NULL. */
static const char *
anchor(const char *t, size_t i)
{
	size_t from = i > ANCHOR_REACH ? i - ANCHOR_REACH : 0, len;
	const char *lang = NULL;

	for (size_t j = from; j < i; j++)
		for (size_t k = 0; k < sizeof backs / sizeof *backs; k++)
			if (words_at(t, j, backs[k].words, &len) && j + len <= i)
				lang = backs[k].lang;	/* the nearest wins */
	return lang;
}

/* Where the quoted message begins: a line that starts with '>', "-----"
 * or "_____", and the attribution line ending in ':' just before it. */
static size_t
own_text(const char *t)
{
	const char *line = t, *prev = NULL;

	while (*line) {
		const char *s = line + strspn(line, " \t");
		if (*s == '>' || strncmp(s, "-----", 5) == 0 ||
		    strncmp(s, "_____", 5) == 0) {
			if (*s == '>' && prev) {
				const char *e = line;
				while (e > prev && isspace((unsigned char)e[-1]))
					e--;
				if (e > prev && e[-1] == ':')
					return (size_t)(prev - t);
			}
			return (size_t)(line - t);
		}
		prev = line;
		if (!(line = strchr(line, '\n')))
			break;
		line++;
	}
	return strlen(t);
}

static int64_t
return_day(char *t, int64_t at, int month_first)
{
	int64_t today = at / 86400 - (at % 86400 < 0), loose = 0;
	struct tm now;
	time_t tt = (time_t)at;
	int this_year;

	gmtime_r(&tt, &now);
	this_year = now.tm_year + 1900;
	for (size_t i = 0; t[i]; i++) {
		int y, m, d, mf;
		int64_t day;
		const char *lang;
		size_t len;

		if (!isalnum((unsigned char)t[i]) || (i > 0 && is_word(t[i - 1])))
			continue;
		/* the word before a date is looked for only when one is
		 * there: it decides how "12/03" reads, and if "12/03" is one */
		if (!date_at(t + i, month_first, 1, &y, &m, &d))
			continue;
		lang = anchor(t, i);
		mf = lang ? strcmp(lang, "en") == 0 : month_first;
		if (!(len = date_at(t + i, mf, lang != NULL, &y, &m, &d)))
			continue;
		i += len - 1;
		if (y == 0) {
			y = this_year;
			if (valid_date(y, m, d) && civil_days(y, m, d) <
			    today - PAST_REACH)
				y++;
		}
		if (!valid_date(y, m, d))
			continue;
		day = civil_days(y, m, d);
		if (day > today + AHEAD_REACH || day < today)
			continue;
		/* a date that no word calls a return date is taken only
		 * after the day the message was written, which its quoted
		 * original often names */
		if (lang)
			return day * 86400;
		if (!loose && day > today)
			loose = day * 86400;
	}
	return loose;
}

int64_t
autoreply_return_day(const char *text, int64_t at, int month_first)
{
	char *t = fold(text, strlen(text));
	t[own_text(t)] = '\0';
	int64_t day = return_day(t, at, month_first);
	free(t);
	return day;
}

int
autoreply_detect(const char *headers, json_t *header_array,
    const char *subject, const char *text, int64_t at, struct autoreply *a)
{
	char *s = fold(subject ? subject : "", subject ? strlen(subject) : 0);
	size_t own = own_part(s);
	struct buf b = { 0 };

	memset(a, 0, sizeof *a);
	a->lang = by_subject(s, own);
	if (!(a->by = by_headers(headers, json_is_array(header_array) ?
	    header_array : NULL)) && a->lang)
		a->by = "subject";
	if (!a->by) {
		free(s);
		return 0;
	}
	/* the subject's own words, then the text's own: "Out of office
	 * until 3.12." */
	buf_add(&b, s, own);
	buf_adds(&b, "\n\n");
	if (text) {
		char *t = fold(text, strlen(text));
		buf_add(&b, t, own_text(t));
		free(t);
	}
	buf_addc(&b, '\0');
	a->back = return_day(b.p, at, a->lang && strcmp(a->lang, "en") == 0);
	buf_free(&b);
	free(s);
	return 1;
}

void
autoreply_classify(struct event *e, const char *headers, json_t *header_array,
    const char *subject, const char *text)
{
	struct autoreply a;
	char day[32];

	if (!autoreply_detect(headers, header_array, subject, text, e->at, &a))
		return;
	e->type = "auto_reply";
	json_object_set_new(e->details, "autoreply", json_string(a.by));
	if (a.lang)
		json_object_set_new(e->details, "language", json_string(a.lang));
	if (a.back) {
		format_time(a.back, day);
		day[10] = '\0';
		json_object_set_new(e->details, "return_date", json_string(day));
	}
}

/* ---- pause and resume ---- */

static int64_t
ooo_days(void)
{
	const char *v = config_get("SEQ_OOO_DAYS");
	char *end;
	long n;

	if (!v)
		return 7;
	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end || errno || n < 0 || n > 365)
		errx(EXIT_CONFIG, "SEQ_OOO_DAYS=%s: not a whole number of days "
		    "from 0 to 365", v);
	return n;
}

struct held {
	int64_t id, resume_at;
};

void
autoreply_pause(struct db *db, const struct event *e, int64_t now)
{
	const char *rd = json_string_value(json_object_get(e->details,
	    "return_date"));
	int y = 0, m = 0, d = 0, dated = rd && sscanf(rd, "%4d-%2d-%2d", &y, &m, &d) == 3;
	int64_t days = dated ? 0 : ooo_days();
	struct held *h = NULL;
	size_t n = 0;
	char t[32];
	/* a second automatic reply moves the resume time of a pause the
	 * first one made; a pause an admin made is left alone */
	sqlite3_stmt *st = db_stmt(db, "SELECT e.id, e.sequence_id, e.version, "
	    "l.timezone FROM enrollments e JOIN leads l ON l.id = e.lead_id "
	    "WHERE e.lead_id = ?1 AND e.created_at <= ?2 AND (e.status = "
	    "'active' OR (e.status = 'paused' AND e.resume_at IS NOT NULL)) "
	    "ORDER BY e.id");

	bind_int(st, 1, e->lead_id);
	bind_int(st, 2, e->at);
	while (db_step(db, st) == SQLITE_ROW) {
		int64_t resume = e->at + days * 86400;
		if (dated) {
			const struct seqdef *def = sequence_version(db,
			    sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2));
			const char *zone = col_text(st, 3);
			struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1,
				.tm_mday = d, .tm_hour = 9 };
			if (!zone || !tz_valid(zone))
				zone = def ? def->timezone : NULL;
			resume = tz_mktime(zone, &tm);
		}
		/* back already: nothing to wait for */
		if (resume <= now)
			continue;
		h = xrealloc(h, (n + 1) * sizeof *h);
		h[n].id = sqlite3_column_int64(st, 0);
		h[n++].resume_at = resume;
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		char *why = dated ? xasprintf("out-of-office reply (event %lld): "
		    "back %s; resumes %s", (long long)e->id, rd,
		    format_time(h[i].resume_at, t)) :
		    xasprintf("out-of-office reply (event %lld) with no return "
		    "date: resumes %s, %lld days after it", (long long)e->id,
		    format_time(h[i].resume_at, t), (long long)days);
		enrollment_set_status(db, h[i].id, "paused", why, now);
		free(why);
		st = db_stmt(db, "UPDATE enrollments SET resume_at = ? WHERE "
		    "id = ?");
		bind_int(st, 1, h[i].resume_at);
		bind_int(st, 2, h[i].id);
		db_run(db, st);
	}
	free(h);
}

long
autoreply_resume(struct db *db, int64_t now)
{
	/* the partial index enrollments_resume holds only the paused
	 * enrollments that wait for a return date */
	sqlite3_stmt *st = db_stmt(db, "SELECT id FROM enrollments WHERE "
	    "resume_at <= ? AND status = 'paused' ORDER BY resume_at, id");
	size_t n;
	long resumed = 0;
	int64_t *ids;

	bind_int(st, 1, now);
	ids = db_ids(db, st, &n);
	if (n == 0)
		return 0;
	db_begin(db);
	for (size_t i = 0; i < n; i++) {
		/* at the resume time, not now: a run that comes late does
		 * not make a step late, and the steps wait their turn */
		st = db_stmt(db, "UPDATE enrollments SET next_run_at = "
		    "resume_at, resume_at = NULL WHERE id = ?1 AND status = "
		    "'paused' AND resume_at <= ?2");
		bind_int(st, 1, ids[i]);
		bind_int(st, 2, now);
		db_run(db, st);
		if (sqlite3_changes(db_handle(db)) == 0)
			continue;	/* another run's, or resumed by hand */
		enrollment_set_status(db, ids[i], "active",
		    "back from out-of-office", now);
		resumed++;
	}
	db_commit(db);
	free(ids);
	return resumed;
}
