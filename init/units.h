/* units.h - parsing of durations, sizes, percentages, signal and capability names.
 * Pure functions shared by the service definition parser and the supervisor. */
#ifndef CAIRN_UNITS_H
#define CAIRN_UNITS_H

#include <stdint.h>

/* "250ms", "10s", "5m" -> milliseconds (max 24 h). 0 on success, -1 on error. */
int units_parse_duration_ms(const char *text, uint32_t *ms);
/* "256M", "1G", "4096", "64K" (powers of 1024) -> bytes. 0 on success, -1 on error. */
int units_parse_size(const char *text, uint64_t *bytes);
/* "50%" -> 50 (1..100000). 0 on success, -1 on error. */
int units_parse_percent(const char *text, uint32_t *percent);
/* "TERM", "SIGTERM" or "15" -> 15; -1 when unknown. */
int units_signal_from_name(const char *text);
/* 15 -> "TERM"; "?" when unknown. */
const char *units_signal_name(int sig);
/* "CAP_NET_ADMIN" or "net_admin" -> 12; -1 when unknown. */
int units_capability_from_name(const char *text);
/* Highest capability number known to this table. */
int units_capability_last(void);

#endif
