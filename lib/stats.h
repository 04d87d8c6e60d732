/*
 * stats: the funnel of each sequence version, step by step, as seq-stats
 * prints it.  A funnel is a cohort: the enrollments made in the range asked
 * (all of them by default), and everything that happened to them.
 *
 * Per step, counts are of attempts (sequence_executions rows) by the state
 * they ended in, and of sent attempts that had at least one event of a kind
 * (an attempt opened twice is one open).  Rates are over the step's sent
 * attempts.  Cost is what the provider reported for an attempt, else the
 * price of SEQ_PRICES for its channel and adapter for each sent one.
 * Revenue is the sum of the values given when enrollments converted; ROI is
 * (revenue - cost) / cost.
 *
 * A step with A/B variants (sequence(5)) has every figure per variant too,
 * from the variant each attempt recorded; a variant's figures add up to
 * the step's.
 */
#ifndef SEQ_STATS_H
#define SEQ_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

enum step_count {
	SC_SENT, SC_FAILED, SC_UNKNOWN, SC_RETRIED, SC_SKIPPED, SC_DELIVERED,
	SC_OPENED, SC_CLICKED, SC_REPLIED, SC_BOUNCED, SC_OPTED_OUT,
	SC_COMPLAINED, SC_ANSWERED, SC_CONVERTED, SC_COUNT
};
extern const char *const step_count_names[SC_COUNT];
/* The counts that are rates over the sends (from SC_DELIVERED on). */
#define SC_FIRST_RATE SC_DELIVERED

enum enrollment_count {
	EC_ENROLLED, EC_ACTIVE, EC_PAUSED, EC_COMPLETED, EC_EXITED, EC_FAILED,
	EC_CANCELLED, EC_CONVERTED, EC_COUNT
};
extern const char *const enrollment_count_names[EC_COUNT];

struct step_stats {
	const char *id, *channel;	/* the definition's */
	const char *variant;		/* of a variant: its name; else NULL */
	long n[SC_COUNT];
	double cost;
	long replies;			/* with a reply time */
	double reply_median_s, reply_mean_s;
	/* of a step with A/B variants: the same figures for each, over the
	 * attempts that went out as it, in the definition's order */
	struct step_stats *variants;
	int nvariants;
};

struct funnel {
	char *sequence;
	int64_t sequence_id;
	int version;
	long n[EC_COUNT];
	double revenue, cost;
	struct step_stats *steps;	/* the message steps, in order */
	int nsteps;
};

struct stats_opts {
	const char *sequence;		/* NULL: every sequence */
	int64_t since, until;		/* enrollment times, [since, until) */
	const char *prices;		/* SEQ_PRICES, or NULL */
};

/* The funnels asked for, in sequence and version order, in *out; how many,
 * or -1 when o->sequence names none. */
int stats_funnels(struct db *, const struct stats_opts *, struct funnel **out);
void stats_free(struct funnel *, int n);

/* The price of one sent message of a channel through an adapter in a
 * SEQ_PRICES value ("email=0.001 sms=0.0079 sms/telnyx-sms=0.004"): the
 * adapter's own, else the channel's, else 0.  -1 when the value is
 * malformed, with the word at fault in *bad. */
int stats_price(const char *prices, const char *channel, const char *adapter,
    double *price, const char **bad);

#endif
