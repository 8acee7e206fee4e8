/* TAP output for the C test programs (proto_test.c, net/net_test.c): ok() numbers and prints each check. */
#ifndef YA_TEST_TAP_H
#define YA_TEST_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int g_n, g_failed;

static void ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(int cond, const char *fmt, ...)
{
	va_list ap;
	g_n++;
	if (!cond)
		g_failed++;
	printf("%s %d - ", cond ? "ok" : "not ok", g_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#endif
