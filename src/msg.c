/* The program's reporter (msg.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "i18n.h"
#include "msg.h"

/* A format in the user's language ("" stays "": gettext would give the catalog's header). */
static const char *tr(const char *fmt)
{
	return *fmt ? _(fmt) : fmt;
}

static void vsay(const char *fmt, va_list ap, int err)
{
	fputs("portview: ", stderr);
	vfprintf(stderr, tr(fmt), ap); /* xgettext reads these calls' formats: po/meson.build */
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
	vfprintf(stderr, tr(fmt), ap);
	va_end(ap);
}

void pv_msg_more(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, tr(fmt), ap);
	va_end(ap);
}

void pv_msg_end(void)
{
	fputc('\n', stderr);
}

void pv_aside_start(struct pv_aside *a)
{
	a->fd = memfd_create("portview-stderr", MFD_CLOEXEC);
	a->saved = a->fd >= 0 ? dup(STDERR_FILENO) : -1;
	if (a->saved < 0 || dup2(a->fd, STDERR_FILENO) < 0) {
		if (a->saved >= 0)
			close(a->saved);
		if (a->fd >= 0)
			close(a->fd);
		a->saved = a->fd = -1;
	}
}

void pv_aside_end(struct pv_aside *a)
{
	if (a->saved < 0)
		return;
	dup2(a->saved, STDERR_FILENO);
	close(a->saved);
	char buf[4096];
	ssize_t n;
	lseek(a->fd, 0, SEEK_SET);
	while ((n = read(a->fd, buf, sizeof(buf))) > 0)
		if (write(STDERR_FILENO, buf, (size_t)n) != n)
			break;
	close(a->fd);
	a->saved = a->fd = -1;
}
