/*
 * record: the job and result records on the pipes (seqtools-records(5),
 * share/schema/job.schema.json and result.schema.json).  Checking a record
 * is strict: a missing field or a wrong type rejects the line, so nothing
 * half understood reaches a provider or the database.
 */
#ifndef SEQ_RECORD_H
#define SEQ_RECORD_H

#include <jansson.h>
#include <stdint.h>

struct job {
	json_t *rec;		/* the record, borrowed */
	int64_t execution_id, enrollment_id, lead_id;
	const char *key, *sequence, *step, *channel, *to, *from;
	int version, attempt;
	const char *subject, *text, *html, *say;
	json_t *headers;	/* object of strings, may be NULL */
	char *line;		/* the job's line as read, for evidence */
	size_t line_len;
};

struct result {
	struct job job;
	const char *status;	/* sent, failed, retry */
	const char *adapter, *provider_id, *error;
	int http_status;	/* 0: none */
	int64_t latency_ms;
	double cost;
	int has_cost;
	json_t *metadata;	/* object or NULL */
	/* metadata serialized ahead of the write lock by the caller, or NULL
	 * for outcome_record to serialize it */
	char *metadata_text;
};

/* NULL when valid, else a reason (static or in why_buf). */
const char *job_check(json_t *rec, struct job *);
const char *result_check(json_t *rec, struct result *);

#endif
