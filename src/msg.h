/*
 * The program's one reporter of diagnostics, and the statuses its
 * functions return.  Every line a person reads on standard error starts
 * "portview: " and goes through here; the library never prints.
 */
#ifndef PORTVIEW_MSG_H
#define PORTVIEW_MSG_H

/* What main() exits with. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_PRESSURE = 3 };

/*
 * A program function returns an exit status (>= 0: end with it), or
 * PV_GO_ON: nothing ended the run, carry on.
 */
#define PV_GO_ON (-1)

/* "portview: MESSAGE\n" on standard error: a failure. */
void pv_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for something that does not end the run. */
void pv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* pv_err with ": strerror(-err)" after it; err is a -errno. */
void pv_err_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A message in pieces (a list, an escaped value): pv_msg_begin prints
 * "portview: " and the first piece, pv_msg_more each next one, pv_msg_end
 * the newline.
 */
void pv_msg_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pv_msg_more(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pv_msg_end(void);

/*
 * While a screen is drawn on the terminal (the interval display, --top),
 * what goes to standard error (a failure, PORTVIEW_DEBUG's lines) would
 * scramble it and vanish with it: pv_aside_start keeps it aside in a
 * memory file, pv_aside_end writes it out once the terminal is back.
 * {-1, -1}: not kept aside (also when the file cannot be made).
 */
struct pv_aside {
	int saved; /* the real standard error */
	int fd;
};
void pv_aside_start(struct pv_aside *a);
void pv_aside_end(struct pv_aside *a);

#endif
