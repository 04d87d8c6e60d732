/*
 * report: see report.h.
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The chart's drawing area, in SVG user units (see report.h). */
enum {
	CHART_H = 200,		/* the tallest bar */
	CHART_TOP = 24,		/* room for the count above the tallest bar */
	CHART_BOTTOM = 28,	/* room for the step ids under the bars */
	SLOT_W = 88,		/* one step: its bar and the gap beside it */
	BAR_W = 56,
	MARGIN = 8
};

/* Everything in one sheet: the page must fetch nothing.  System fonts;
 * tables scroll inside their wrapper rather than widen a phone's page;
 * on paper, no backgrounds and no funnel cut in two. */
static const char style[] =
	":root{color-scheme:light}\n"
	"body{margin:0 auto;max-width:80rem;padding:1rem;line-height:1.4;"
	"color:#1b1b1b;background:#fff;font-family:system-ui,-apple-system,"
	"\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif}\n"
	"h1{font-size:1.4rem;margin:0 0 1rem}\n"
	"h2{font-size:1.15rem;margin:0 0 .5rem;overflow-wrap:anywhere}\n"
	"section{border:1px solid #d8d8d8;border-radius:6px;padding:1rem;"
	"margin:0 0 1rem;page-break-inside:avoid;break-inside:avoid}\n"
	".summary{margin:0 0 .75rem}\n"
	".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;"
	"max-width:100%}\n"
	"table{border-collapse:collapse;white-space:nowrap;"
	"font-variant-numeric:tabular-nums}\n"
	"th,td{padding:.3rem .5rem;border-bottom:1px solid #e6e6e6;"
	"text-align:right}\n"
	"th.l,td.l{text-align:left}\n"
	"tr.variant th{font-weight:400;padding-left:1.5rem}\n"
	"thead th{background:#f3f4f6;font-weight:600}\n"
	".rate{color:#5f6368;font-size:.85em}\n"
	"svg.chart{display:block;max-width:100%;height:auto;"
	"margin:0 0 .75rem}\n"
	"svg.chart text{font-size:12px;fill:#333}\n"
	"rect.bar{fill:#3b6ea8}\n"
	"rect.bar[data-channel=sms]{fill:#2f8a57}\n"
	"rect.bar[data-channel=voice]{fill:#b0652f}\n"
	"line.axis{stroke:#999;stroke-width:1}\n"
	".none{color:#5f6368}\n"
	"footer{color:#5f6368;font-size:.85rem;margin-top:2rem}\n"
	"@media print{*{background:transparent!important;"
	"box-shadow:none!important}body{max-width:none;padding:0;color:#000}"
	".scroll{overflow:visible}section{border-color:#999}"
	"rect.bar{fill:#555!important}}\n";

/* Text for an element or a quoted attribute: the five characters that
 * could end either, or start markup, become references.  Names and
 * adapters come from the database, which a hand or an older release may
 * have filled with anything. */
static void
esc(struct buf *out, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '"': buf_adds(out, "&quot;"); break;
		case '\'': buf_adds(out, "&#39;"); break;
		default: buf_addc(out, *s);
		}
}

/* Markup and numbers only: text from the database goes through esc(). */
static void put(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct buf *out, const char *fmt, ...)
{
	char small[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		buf_add(out, small, (size_t)n);
		return;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_add(out, big, (size_t)n);
	free(big);
}

/* round(CHART_H * sent / max), halves up, in integers so that the rule
 * report.h states holds exactly, with no floating-point tie to argue. */
static long
bar_height(long sent, long max)
{
	if (max <= 0 || sent <= 0)
		return 0;
	return (long)(((long long)CHART_H * sent * 2 + max) / (2LL * max));
}

static void
chart(const struct funnel *f, struct buf *out)
{
	long max = 0;
	int width = 2 * MARGIN + (f->nsteps ? f->nsteps : 1) * SLOT_W;
	int height = CHART_TOP + CHART_H + CHART_BOTTOM;
	int base = CHART_TOP + CHART_H;

	for (int s = 0; s < f->nsteps; s++)
		if (f->steps[s].n[SC_SENT] > max)
			max = f->steps[s].n[SC_SENT];
	put(out, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" "
	    "height=\"%d\" role=\"img\" aria-label=\"Messages sent per step "
	    "of ", width, height, width, height);
	esc(out, f->sequence);
	put(out, ", version %d\">\n", f->version);
	put(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" "
	    "y2=\"%d\"/>\n", MARGIN, base, width - MARGIN, base);
	for (int s = 0; s < f->nsteps; s++) {
		const struct step_stats *st = &f->steps[s];
		long h = bar_height(st->n[SC_SENT], max);
		int x = MARGIN + s * SLOT_W + (SLOT_W - BAR_W) / 2;
		int mid = MARGIN + s * SLOT_W + SLOT_W / 2;

		buf_adds(out, "<rect class=\"bar\" data-step=\"");
		esc(out, st->id);
		buf_adds(out, "\" data-channel=\"");
		esc(out, st->channel);
		put(out, "\" data-sent=\"%ld\" x=\"%d\" y=\"%ld\" width=\"%d\" "
		    "height=\"%ld\"/>\n", st->n[SC_SENT], x, base - h, BAR_W,
		    h);
		put(out, "<text class=\"count\" x=\"%d\" y=\"%ld\" "
		    "text-anchor=\"middle\">%ld</text>\n", mid, base - h - 6,
		    st->n[SC_SENT]);
		put(out, "<text class=\"step\" x=\"%d\" y=\"%d\" "
		    "text-anchor=\"middle\">", mid, base + 18);
		esc(out, st->id);
		buf_adds(out, "</text>\n");
	}
	buf_adds(out, "</svg>\n");
}

static void
count_cell(struct buf *out, long n, long sent, int rate)
{
	if (rate && sent > 0)
		put(out, "<td>%ld <span class=\"rate\">%.1f%%</span></td>", n,
		    100.0 * (double)n / (double)sent);
	else
		put(out, "<td>%ld</td>", n);
}

static void
steps_table(const struct funnel *f, struct buf *out)
{
	static const struct {
		enum step_count c;
		const char *heading;
	} cols[] = {
		{ SC_SENT, "sent" }, { SC_DELIVERED, "delivered" },
		{ SC_OPENED, "opened" }, { SC_CLICKED, "clicked" },
		{ SC_REPLIED, "replied" }, { SC_BOUNCED, "bounced" },
		{ SC_OPTED_OUT, "opted out" }, { SC_FAILED, "failed" },
		{ SC_UNKNOWN, "unknown" }, { SC_CONVERTED, "converted" }
	};
	enum { NC = sizeof cols / sizeof *cols };

	buf_adds(out, "<div class=\"scroll\"><table>\n<thead><tr>"
	    "<th class=\"l\" scope=\"col\">step</th>"
	    "<th class=\"l\" scope=\"col\">channel</th>");
	for (int k = 0; k < NC; k++)
		put(out, "<th scope=\"col\">%s</th>", cols[k].heading);
	buf_adds(out, "<th scope=\"col\">cost</th></tr></thead>\n<tbody>\n");
	/* a step's variants follow it, a row each */
	for (int s = 0; s < f->nsteps; s++)
		for (int v = -1; v < f->steps[s].nvariants; v++) {
			const struct step_stats *st = v < 0 ? &f->steps[s] :
			    &f->steps[s].variants[v];
			if (st->variant) {
				buf_adds(out, "<tr class=\"variant\" "
				    "data-variant=\"");
				esc(out, st->variant);
				buf_adds(out, "\"><th class=\"l\" scope=\"row\">");
				esc(out, st->id);
				buf_adds(out, " &middot; variant ");
				esc(out, st->variant);
			} else {
				buf_adds(out, "<tr><th class=\"l\" "
				    "scope=\"row\">");
				esc(out, st->id);
			}
			buf_adds(out, "</th><td class=\"l\">");
			esc(out, st->channel);
			buf_adds(out, "</td>");
			for (int k = 0; k < NC; k++)
				count_cell(out, st->n[cols[k].c], st->n[SC_SENT],
				    cols[k].c >= SC_FIRST_RATE);
			put(out, "<td>%.2f</td></tr>\n", st->cost);
		}
	if (f->nsteps == 0)
		put(out, "<tr><td class=\"l none\" colspan=\"%d\">no message "
		    "steps</td></tr>\n", NC + 3);
	buf_adds(out, "</tbody>\n</table></div>\n");
}

static void
funnel_section(const struct funnel *f, struct buf *out)
{
	buf_adds(out, "<section class=\"funnel\" data-sequence=\"");
	esc(out, f->sequence);
	put(out, "\" data-version=\"%d\">\n<h2>", f->version);
	esc(out, f->sequence);
	put(out, ", version %d</h2>\n", f->version);
	put(out, "<p class=\"summary\">%ld enrolled, %ld active, %ld "
	    "completed, %ld converted; revenue %.2f, cost %.2f, ROI ",
	    f->n[EC_ENROLLED], f->n[EC_ACTIVE], f->n[EC_COMPLETED],
	    f->n[EC_CONVERTED], f->revenue, f->cost);
	if (f->cost > 0)
		put(out, "%.1f%%", 100 * (f->revenue - f->cost) / f->cost);
	else
		buf_adds(out, "&ndash; (no cost)");
	buf_adds(out, "</p>\n");
	chart(f, out);
	steps_table(f, out);
	buf_adds(out, "</section>\n");
}

struct health {
	char *adapter, *channel;
	long long sent, failed, retry, attempts, latency_ms;
};

static void
health_row(const struct health *h, struct buf *out)
{
	buf_adds(out, "<tr><th class=\"l\" scope=\"row\">");
	esc(out, h->adapter);
	buf_adds(out, "</th><td class=\"l\">");
	esc(out, h->channel);
	put(out, "</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td>",
	    h->attempts, h->sent, h->failed, h->retry);
	if (h->attempts > 0)
		put(out, "<td>%.1f%%</td><td>%.0f</td></tr>\n",
		    100.0 * (double)h->sent / (double)h->attempts,
		    (double)h->latency_ms / (double)h->attempts);
	else
		buf_adds(out, "<td>&ndash;</td><td>&ndash;</td></tr>\n");
}

/* One row per adapter and channel: the counters are kept per outcome too,
 * and rows come sorted, so a row ends where the pair changes. */
static void
adapter_health(struct db *db, struct buf *out)
{
	struct health h = { 0 };
	int rows = 0;
	sqlite3_stmt *st = db_stmt(db, "SELECT adapter, channel, outcome, "
	    "count, latency_ms_sum FROM adapter_counters ORDER BY 1, 2, 3");

	buf_adds(out, "<section class=\"adapters\">\n<h2>Adapter health</h2>\n"
	    "<div class=\"scroll\"><table>\n<thead><tr>"
	    "<th class=\"l\" scope=\"col\">adapter</th>"
	    "<th class=\"l\" scope=\"col\">channel</th>"
	    "<th scope=\"col\">attempts</th><th scope=\"col\">sent</th>"
	    "<th scope=\"col\">failed</th><th scope=\"col\">retry</th>"
	    "<th scope=\"col\">success rate</th>"
	    "<th scope=\"col\">mean latency (ms)</th></tr></thead>\n<tbody>\n");
	while (db_step(db, st) == SQLITE_ROW) {
		const char *adapter = col_text(st, 0);
		const char *channel = col_text(st, 1);
		const char *outcome = col_text(st, 2);
		long long count = sqlite3_column_int64(st, 3);

		adapter = adapter ? adapter : "";
		channel = channel ? channel : "";
		outcome = outcome ? outcome : "";
		if (h.adapter && (strcmp(h.adapter, adapter) ||
		    strcmp(h.channel, channel))) {
			health_row(&h, out);
			free(h.adapter);
			free(h.channel);
			memset(&h, 0, sizeof h);
		}
		if (!h.adapter) {
			h.adapter = xstrdup(adapter);
			h.channel = xstrdup(channel);
			rows++;
		}
		if (!strcmp(outcome, "sent"))
			h.sent += count;
		else if (!strcmp(outcome, "failed"))
			h.failed += count;
		else if (!strcmp(outcome, "retry"))
			h.retry += count;
		h.attempts += count;
		h.latency_ms += sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	if (h.adapter)
		health_row(&h, out);
	free(h.adapter);
	free(h.channel);
	if (rows == 0)
		buf_adds(out, "<tr><td class=\"l none\" colspan=\"8\">no "
		    "delivery recorded yet</td></tr>\n");
	buf_adds(out, "</tbody>\n</table></div>\n</section>\n");
}

void
report_html(struct db *db, const struct funnel *f, int n, int64_t now,
    struct buf *out)
{
	char when[32];

	/* The policy is a second lock on the same door: should anything
	 * escape esc(), a browser still runs and fetches nothing. */
	format_time(now, when);
	buf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\""
	    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
	    "form-action 'none'\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<title>seqtools: sequences report</title>\n<style>\n");
	buf_adds(out, style);
	buf_adds(out, "</style>\n</head>\n<body>\n<main>\n"
	    "<h1>Sequences report</h1>\n");
	for (int i = 0; i < n; i++)
		funnel_section(&f[i], out);
	if (n <= 0)
		buf_adds(out, "<p class=\"none\">No enrollments in the range "
		    "asked.</p>\n");
	adapter_health(db, out);
	put(out, "</main>\n<footer>Generated by seq-stats at "
	    "<time datetime=\"%s\">%s</time>.</footer>\n</body>\n</html>\n",
	    when, when);
}
