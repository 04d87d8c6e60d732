/*
 * record: see record.h.  Contents are capped at 256 KiB a field, so one
 * record cannot hold a command's memory hostage.
 */
#include "record.h"

#include <math.h>
#include <string.h>

#include "util.h"

#define CONTENT_MAX (256 << 10)

static const char *
str(json_t *rec, const char *key, const char **out, int required)
{
	json_t *v = json_object_get(rec, key);
	static char why[96];
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return NULL;
		snprintf(why, sizeof why, "missing %s", key);
		return why;
	}
	if (!json_is_string(v)) {
		snprintf(why, sizeof why, "%s must be a string", key);
		return why;
	}
	if (json_string_length(v) > CONTENT_MAX) {
		snprintf(why, sizeof why, "%s is longer than %d bytes", key,
		    CONTENT_MAX);
		return why;
	}
	*out = json_string_value(v);
	if (required && !**out) {
		snprintf(why, sizeof why, "%s is empty", key);
		return why;
	}
	return NULL;
}

static const char *
integer(json_t *rec, const char *key, int64_t *out, int64_t min)
{
	json_t *v = json_object_get(rec, key);
	static char why[96];
	if (!v || !json_is_integer(v) || json_integer_value(v) < min) {
		snprintf(why, sizeof why, "%s must be a whole number of at "
		    "least %lld", key, (long long)min);
		return why;
	}
	*out = json_integer_value(v);
	return NULL;
}

const char *
job_check(json_t *rec, struct job *j)
{
	const char *why;
	int64_t v;

	memset(j, 0, sizeof *j);
	j->rec = rec;
	if ((why = integer(rec, "execution_id", &j->execution_id, 1)) ||
	    (why = integer(rec, "enrollment_id", &j->enrollment_id, 1)) ||
	    (why = integer(rec, "lead_id", &j->lead_id, 1)) ||
	    (why = str(rec, "key", &j->key, 1)) ||
	    (why = str(rec, "sequence", &j->sequence, 1)) ||
	    (why = str(rec, "step", &j->step, 1)) ||
	    (why = str(rec, "channel", &j->channel, 1)) ||
	    (why = str(rec, "to", &j->to, 1)) ||
	    (why = str(rec, "from", &j->from, 0)))
		return why;
	if ((why = integer(rec, "version", &v, 1)))
		return why;
	j->version = (int)v;
	if ((why = integer(rec, "attempt", &v, 1)))
		return why;
	j->attempt = (int)v;
	if (strcmp(j->channel, "email") == 0) {
		if ((why = str(rec, "subject", &j->subject, 1)) ||
		    (why = str(rec, "text", &j->text, 1)) ||
		    (why = str(rec, "html", &j->html, 0)))
			return why;
	} else if (strcmp(j->channel, "sms") == 0) {
		if ((why = str(rec, "text", &j->text, 1)))
			return why;
	} else if (strcmp(j->channel, "voice") == 0) {
		if ((why = str(rec, "say", &j->say, 1)))
			return why;
	} else
		return "channel must be email, sms or voice";
	j->headers = json_object_get(rec, "headers");
	if (j->headers && json_is_null(j->headers))
		j->headers = NULL;
	if (j->headers) {
		const char *k;
		json_t *h;
		if (!json_is_object(j->headers))
			return "headers must be an object";
		json_object_foreach(j->headers, k, h)
			if (!json_is_string(h) || strpbrk(json_string_value(h), "\r\n") ||
			    !*k || strpbrk(k, "\r\n: "))
				return "headers must be names and one-line strings";
	}
	return NULL;
}

const char *
result_check(json_t *rec, struct result *r)
{
	const char *why;
	json_t *v;

	memset(r, 0, sizeof *r);
	r->job.rec = rec;
	if ((why = integer(rec, "execution_id", &r->job.execution_id, 1)) ||
	    (why = integer(rec, "enrollment_id", &r->job.enrollment_id, 1)) ||
	    (why = integer(rec, "lead_id", &r->job.lead_id, 1)) ||
	    (why = str(rec, "key", &r->job.key, 1)) ||
	    (why = str(rec, "step", &r->job.step, 1)) ||
	    (why = str(rec, "channel", &r->job.channel, 1)) ||
	    (why = str(rec, "status", &r->status, 1)) ||
	    (why = str(rec, "adapter", &r->adapter, 1)) ||
	    (why = str(rec, "provider_id", &r->provider_id, 0)) ||
	    (why = str(rec, "error", &r->error, 0)))
		return why;
	int64_t n;
	if ((why = integer(rec, "attempt", &n, 1)))
		return why;
	r->job.attempt = (int)n;
	/* not needed to record the outcome, but part of the record: a wrong
	 * type says the line is not what it claims to be */
	if ((why = str(rec, "sequence", &r->job.sequence, 0)) ||
	    (why = str(rec, "to", &r->job.to, 0)))
		return why;
	if (json_object_get(rec, "version") &&
	    !json_is_null(json_object_get(rec, "version"))) {
		if ((why = integer(rec, "version", &n, 1)))
			return why;
		r->job.version = (int)n;
	}
	if (strcmp(r->status, "sent") && strcmp(r->status, "failed") &&
	    strcmp(r->status, "retry"))
		return "status must be sent, failed or retry";
	if (strcmp(r->status, "sent") && !r->error)
		return "a failed or retry result needs an error";
	v = json_object_get(rec, "http_status");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 100 ||
		    json_integer_value(v) > 599)
			return "http_status must be from 100 to 599 or null";
		r->http_status = (int)json_integer_value(v);
	}
	v = json_object_get(rec, "latency_ms");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return "latency_ms must be a whole number";
		r->latency_ms = json_integer_value(v);
	}
	v = json_object_get(rec, "cost");
	if (v && !json_is_null(v)) {
		if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
		    json_number_value(v) < 0)
			return "cost must be a number of at least 0 or null";
		r->cost = json_number_value(v);
		r->has_cost = 1;
	}
	v = json_object_get(rec, "metadata");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v))
			return "metadata must be an object";
		r->metadata = v;
	}
	return NULL;
}

