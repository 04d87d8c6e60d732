/*
 * template: merge fields.  {{name}} or {{name|fallback}}; the fallback is
 * used when the lead has no value.  Names are the lead's fields and
 * attr.NAME for an attribute, and unsubscribe_url where the caller allows
 * it.  In html the values are HTML-escaped.
 */
#ifndef SEQ_TEMPLATE_H
#define SEQ_TEMPLATE_H

#include "lead.h"
#include "util.h"

/* {{unsubscribe_url}}: the link of the message, in an email's text and
 * html only */
#define TPL_UNSUBSCRIBE_URL 1

/* NULL when the template is well formed and names only known fields,
 * those of the TPL_ flags in allowed among them; else a malloc'd
 * reason. */
char *template_check(const char *tpl, unsigned allowed);
/* 1 when the template has the merge field name. */
int template_uses(const char *tpl, const char *name);
/* unsubscribe_url is the value of {{unsubscribe_url}}. */
void template_render(const char *tpl, const struct lead *,
    const char *unsubscribe_url, int html, struct buf *out);

#endif
