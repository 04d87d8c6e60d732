/*
 * report: seq-stats --html, one self-contained page: a funnel chart per
 * sequence version (inline SVG, one bar per message step, its height in
 * proportion to the step's sends), a table per step, and the adapters'
 * health.  No script, font, image or style sheet comes from anywhere else,
 * so the page can be mailed, archived and opened offline.
 *
 * Each bar is <rect class="bar" data-step="ID" data-channel="CH"
 * data-sent="N">, in the definition's order, and its height in SVG units
 * is round(200 * N / M), halves rounded up, where M is the most any step
 * of that funnel sent: the busiest step is 200 high, a step that sent
 * nothing is 0.  In the table, a step with A/B variants is followed by a
 * row per variant, <tr class="variant" data-variant="NAME">.  Every text
 * from the database is escaped (& < > " ').
 */
#ifndef SEQ_REPORT_H
#define SEQ_REPORT_H

#include <stdint.h>

#include "db.h"
#include "stats.h"
#include "util.h"

void report_html(struct db *, const struct funnel *, int n, int64_t now,
    struct buf *out);

#endif
