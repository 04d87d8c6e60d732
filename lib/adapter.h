/*
 * adapter: one interface for every provider.  seq-send hands each job to
 * the adapter of its channel with deliver(); the adapter reports the
 * outcome through done(), at once or later, and wait() drives pending
 * deliveries until none is left.  Adapters never touch the database:
 * seq-send records the attempt before deliver() and seq-log the outcome.
 */
#ifndef SEQ_ADAPTER_H
#define SEQ_ADAPTER_H

#include <jansson.h>
#include <stdint.h>

#include "record.h"

struct delivery {
	const struct job *job;
	/* filled by the adapter */
	const char *status;		/* sent, failed, retry */
	char provider_id[128];
	int http_status;
	char error[512];
	double cost;
	int has_cost;
	char metadata[1024];		/* a JSON object, or empty */
	int64_t latency_ms;
	/* set by the caller */
	void (*done)(struct delivery *);
	void *arg;
};

struct adapter {
	const char *name;
	void (*deliver)(struct adapter *, struct delivery *);
	void (*wait)(struct adapter *);
	void (*close)(struct adapter *);
};

/* The adapter for a channel under the current configuration (SEQ_DELIVERY);
 * NULL with a reason when none can serve it. */
struct adapter *adapter_for(const char *channel, const char **why);
void adapters_close(void);

struct adapter *mock_adapter(void);

#endif
