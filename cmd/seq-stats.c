/*
 * seq-stats: funnels, cost and ROI per sequence and step; Prometheus
 * metrics; an HTML report.
 */
#include <err.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "db.h"
#include "metrics.h"
#include "ndjson.h"
#include "report.h"
#include "stats.h"
#include "sequence.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: seq-stats [--db path] [--config file] [--sequence name]\n"
	    "                 [--since time] [--until time] [--now time]\n"
	    "                 [--table | --html]\n"
	    "       seq-stats --prom [--db path] [--config file] [--now time]\n");
	exit(EXIT_USAGE);
}

static json_t *
ratio(long n, long of)
{
	return of ? json_real((double)n / (double)of) : json_null();
}

/* A step's figures, or a variant's, into o. */
static void
figures(json_t *o, const struct step_stats *st)
{
	json_t *rates = json_object();
	for (int k = 0; k < SC_COUNT; k++) {
		json_object_set_new(o, step_count_names[k],
		    json_integer(st->n[k]));
		if (k >= SC_FIRST_RATE)
			json_object_set_new(rates, step_count_names[k],
			    ratio(st->n[k], st->n[SC_SENT]));
	}
	json_object_set_new(o, "rates", rates);
	json_object_set_new(o, "reply_time_s", st->replies ?
	    json_pack("{s:f, s:f}", "median", st->reply_median_s,
	    "mean", st->reply_mean_s) : json_null());
	json_object_set_new(o, "cost", json_real(st->cost));
}

static void
write_json(const struct funnel *f, int n, struct buf *out)
{
	for (int i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:i}", "record", "sequence",
		    "sequence", f[i].sequence, "version", f[i].version);
		for (int k = 0; k < EC_COUNT; k++)
			json_object_set_new(o, enrollment_count_names[k],
			    json_integer(f[i].n[k]));
		json_object_set_new(o, "revenue", json_real(f[i].revenue));
		json_object_set_new(o, "cost", json_real(f[i].cost));
		json_object_set_new(o, "roi", f[i].cost > 0 ? json_real(
		    (f[i].revenue - f[i].cost) / f[i].cost) : json_null());
		char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
		buf_adds(out, text);
		buf_addc(out, '\n');
		free(text);
		json_decref(o);
		for (int s = 0; s < f[i].nsteps; s++) {
			const struct step_stats *st = &f[i].steps[s];
			o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "record", "step",
			    "sequence", f[i].sequence, "version", f[i].version,
			    "step", st->id, "channel", st->channel);
			figures(o, st);
			if (st->nvariants) {
				json_t *vs = json_array();
				for (int v = 0; v < st->nvariants; v++) {
					json_t *vo = json_pack("{s:s}", "variant",
					    st->variants[v].variant);
					figures(vo, &st->variants[v]);
					json_array_append_new(vs, vo);
				}
				json_object_set_new(o, "variants", vs);
			}
			text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
			buf_adds(out, text);
			buf_addc(out, '\n');
			free(text);
			json_decref(o);
		}
	}
}

static void
cell(struct buf *out, const char *s, int width, int right)
{
	char pad[64];
	int n = width - (int)strlen(s);
	if (n < 0)
		n = 0;
	memset(pad, ' ', (size_t)n < sizeof pad ? (size_t)n : sizeof pad - 1);
	pad[(size_t)n < sizeof pad ? (size_t)n : sizeof pad - 1] = '\0';
	if (right)
		buf_adds(out, pad);
	buf_adds(out, s);
	if (!right)
		buf_adds(out, pad);
}

/* The table: a line per sequence version, then its steps, columns aligned
 * to the widest value in each. */
static void
write_table(const struct funnel *f, int n, struct buf *out)
{
	static const int cols[] = { SC_SENT, SC_DELIVERED, SC_OPENED,
		SC_CLICKED, SC_REPLIED, SC_BOUNCED, SC_OPTED_OUT, SC_FAILED,
		SC_UNKNOWN, SC_CONVERTED };
	enum { NC = sizeof cols / sizeof *cols, W = NC + 3 };
	const char *headings[W] = { "step", "channel" };
	char ***cells = NULL;
	int rows = 0, width[W] = { 0 };

	for (int k = 0; k < NC; k++)
		headings[2 + k] = step_count_names[cols[k]];
	headings[W - 1] = "cost";
	/* a step with variants: its line, then one per variant as
	 * STEP/VARIANT */
	for (int i = 0; i < n; i++)
		for (int s = 0; s < f[i].nsteps; s++)
			for (int v = -1; v < f[i].steps[s].nvariants; v++) {
				const struct step_stats *st = v < 0 ?
				    &f[i].steps[s] : &f[i].steps[s].variants[v];
				cells = xrealloc(cells, (size_t)(rows + 1) *
				    sizeof *cells);
				char **c = cells[rows++] = xcalloc(W, sizeof *c);
				c[0] = st->variant ? xasprintf("%s/%s", st->id,
				    st->variant) : xstrdup(st->id);
				c[1] = xstrdup(st->channel);
				for (int k = 0; k < NC; k++)
					c[2 + k] = k && st->n[SC_SENT] ?
					    xasprintf("%ld %.1f%%", st->n[cols[k]],
					    100.0 * (double)st->n[cols[k]] /
					    (double)st->n[SC_SENT]) :
					    xasprintf("%ld", st->n[cols[k]]);
				c[W - 1] = xasprintf("%.2f", st->cost);
			}
	for (int k = 0; k < W; k++)
		width[k] = (int)strlen(headings[k]);
	for (int r = 0; r < rows; r++)
		for (int k = 0; k < W; k++)
			if ((int)strlen(cells[r][k]) > width[k])
				width[k] = (int)strlen(cells[r][k]);
	int r = 0;
	for (int i = 0; i < n; i++) {
		char *line = xasprintf("%s@%d: %ld enrolled, %ld active, %ld "
		    "completed, %ld converted; revenue %.2f, cost %.2f, ROI %s\n",
		    f[i].sequence, f[i].version, f[i].n[EC_ENROLLED],
		    f[i].n[EC_ACTIVE], f[i].n[EC_COMPLETED], f[i].n[EC_CONVERTED],
		    f[i].revenue, f[i].cost, "");
		char roi[32] = "-";
		if (f[i].cost > 0)
			snprintf(roi, sizeof roi, "%.1f%%", 100 * (f[i].revenue -
			    f[i].cost) / f[i].cost);
		line[strlen(line) - 1] = '\0';
		buf_adds(out, line);
		buf_adds(out, roi);
		buf_addc(out, '\n');
		free(line);
		for (int k = 0; k < W; k++) {
			buf_adds(out, k ? "  " : "  ");
			cell(out, headings[k], width[k], k >= 2);
		}
		buf_addc(out, '\n');
		int nrows = 0;
		for (int s = 0; s < f[i].nsteps; s++)
			nrows += 1 + f[i].steps[s].nvariants;
		for (int end = r + nrows; r < end; r++) {
			for (int k = 0; k < W; k++) {
				buf_adds(out, "  ");
				cell(out, cells[r][k], width[k], k >= 2);
			}
			buf_addc(out, '\n');
		}
	}
	for (r = 0; r < rows; r++) {
		for (int k = 0; k < W; k++)
			free(cells[r][k]);
		free(cells[r]);
	}
	free(cells);
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_CONFIG, O_SEQ, O_SINCE, O_UNTIL, O_TABLE,
		O_PROM, O_HTML };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "sequence", required_argument, NULL, O_SEQ },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "table", no_argument, NULL, O_TABLE },
		{ "prom", no_argument, NULL, O_PROM },
		{ "html", no_argument, NULL, O_HTML },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *configopt = NULL;
	const char *sinceopt = NULL, *untilopt = NULL;
	struct stats_opts o = { .since = INT64_MIN, .until = INT64_MAX };
	int table = 0, prom = 0, html = 0, c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		case O_CONFIG: configopt = optarg; break;
		case O_SEQ: o.sequence = optarg; break;
		case O_SINCE: sinceopt = optarg; break;
		case O_UNTIL: untilopt = optarg; break;
		case O_TABLE: table = 1; break;
		case O_PROM: prom = 1; break;
		case O_HTML: html = 1; break;
		default: usage();
		}
	if (optind != argc || table + prom + html > 1 ||
	    (prom && (o.sequence || sinceopt || untilopt)))
		usage();
	if (sinceopt && parse_time(sinceopt, &o.since) != 0)
		errx(EXIT_USAGE, "--since: '%s' is not an RFC 3339 time (like "
		    "2026-11-25T09:00:00Z)", sinceopt);
	if (untilopt && parse_time(untilopt, &o.until) != 0)
		errx(EXIT_USAGE, "--until: '%s' is not an RFC 3339 time (like "
		    "2026-11-25T09:00:00Z)", untilopt);
	config_load("seq-stats", configopt);
	int64_t now = resolve_now(nowopt);
	o.prices = config_get("SEQ_PRICES");
	double price;
	const char *bad;
	if (stats_price(o.prices, "email", NULL, &price, &bad) != 0)
		errx(EXIT_CONFIG, "SEQ_PRICES: '%s' is not CHANNEL=PRICE or "
		    "CHANNEL/ADAPTER=PRICE", bad);

	struct db *db = db_open(resolve_db(dbopt), DB_READONLY);
	struct buf out = { 0 };
	int rc = 0;
	db_begin_read(db);
	if (prom)
		metrics_write(db, config_get("SEQ_SPOOL"), now, &out);
	else {
		struct funnel *f;
		int n = stats_funnels(db, &o, &f);
		if (n < 0) {
			warnx("no sequence '%s'", o.sequence);
			rc = EXIT_REJECTED;
		} else if (table)
			write_table(f, n, &out);
		else if (html)
			report_html(db, f, n, now, &out);
		else
			write_json(f, n, &out);
		if (n > 0)
			stats_free(f, n);
	}
	db_end_read(db);
	emit(&out);
	buf_free(&out);
	sequence_cache_free();
	config_free();
	db_close(db);
	finish_stdout();
	return rc;
}
