/*
 * template: merge fields.  {{name}} or {{name|fallback}}; the fallback is
 * used when the lead has no value.  Names are the lead's fields and
 * attr.NAME for an attribute.  In html the values are HTML-escaped.
 */
#ifndef SEQ_TEMPLATE_H
#define SEQ_TEMPLATE_H

#include "lead.h"
#include "util.h"

/* NULL when the template is well formed, else a malloc'd reason. */
char *template_check(const char *tpl);
void template_render(const char *tpl, const struct lead *, int html,
    struct buf *out);

#endif
