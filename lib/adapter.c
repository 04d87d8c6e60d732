/*
 * adapter: which adapter serves a channel.  SEQ_DELIVERY=mock (the
 * default) sends everything to the mock; live delivery must be asked for
 * explicitly and needs the provider adapters.
 */
#include "adapter.h"

#include <stdlib.h>
#include <string.h>

static struct adapter *mock;

struct adapter *
adapter_for(const char *channel, const char **why)
{
	const char *mode = getenv("SEQ_DELIVERY");
	(void)channel;
	if (!mode || !*mode || strcmp(mode, "mock") == 0) {
		if (!mock)
			mock = mock_adapter();
		return mock;
	}
	if (strcmp(mode, "live") == 0)
		*why = "SEQ_DELIVERY=live: this build has no live provider "
		    "adapters yet; unset SEQ_DELIVERY for mock delivery";
	else
		*why = "SEQ_DELIVERY must be mock or live";
	return NULL;
}

void
adapters_close(void)
{
	if (mock)
		mock->close(mock);
	mock = NULL;
}
