/*
 * csv: RFC 4180 input for commands that take it (a header line, then rows;
 * quoted fields may hold commas, quotes as "" and newlines).  Each row
 * becomes a JSON object of header: value, empty values left out, and goes
 * through the same record callback as an NDJSON line, numbered by the line
 * it starts on.
 */
#ifndef SEQ_CSV_H
#define SEQ_CSV_H

#include "ndjson.h"

long csv_run(struct ndjson *, int fd);

#endif
