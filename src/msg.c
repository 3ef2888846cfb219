/* The program's reporter (msg.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"

static void vsay(const char *fmt, va_list ap, int err)
{
	fputs("portview: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
	fputc('\n', stderr);
}

void pv_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap, 0);
	va_end(ap);
}

void pv_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap, 0);
	va_end(ap);
}

void pv_err_errno(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap, err);
	va_end(ap);
}

void pv_msg_begin(const char *fmt, ...)
{
	va_list ap;
	fputs("portview: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void pv_msg_more(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void pv_msg_end(void)
{
	fputc('\n', stderr);
}
