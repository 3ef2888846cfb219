/*
 * The terminal of the live screens (--top, and the interval display on a
 * terminal): ncurses on standard input and output (newterm), keys read
 * one at a time without echo, no cursor; endwin leaves the shell's screen,
 * cursor and echo as they were.  A crash (SIGSEGV and the like) puts the
 * terminal back before it dies: the handler only writes what was saved
 * when the screen opened (the shell's termios, the capabilities that
 * reset attributes, show the cursor and leave the alternate screen), with
 * async-signal-safe calls, then dies of the signal again.
 */
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

#include "top.h"

/* What the handler needs, set once before it can run. */
static struct termios crash_termios;
static char crash_reset[64];
static size_t crash_reset_len;

static void crash_handler(int sig)
{
	tcsetattr(STDIN_FILENO, TCSANOW, &crash_termios);
	if (write(STDOUT_FILENO, crash_reset, crash_reset_len) < 0)
		crash_reset_len = 0;
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Called once ncurses knows the terminal; shell is its modes before newterm. */
static void crash_restore_on(const struct termios *shell)
{
	const char *caps[] = {"sgr0", "cnorm", "rmcup"};
	crash_termios = *shell;
	crash_reset[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		const char *s = tigetstr(caps[i]);
		if (s && s != (char *)-1 && strlen(crash_reset) + strlen(s) < sizeof(crash_reset))
			strcat(crash_reset, s);
	}
	crash_reset_len = strlen(crash_reset);
	struct sigaction sa = {.sa_handler = crash_handler};
	sigemptyset(&sa.sa_mask);
	const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

struct screen *top_term_open(void)
{
	struct termios shell;
	setlocale(LC_CTYPE, "");
	tcgetattr(STDIN_FILENO, &shell);
	/* a TERM terminfo does not know: found out here, since a failed newterm keeps memory */
	int err = 0;
	if (setupterm(NULL, STDOUT_FILENO, &err) != OK)
		return NULL;
	del_curterm(cur_term);
	SCREEN *s = newterm(NULL, stdout, stdin);
	if (!s)
		return NULL;
	set_term(s);
	crash_restore_on(&shell);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	return s;
}

void top_term_close(struct screen *s)
{
	endwin();
	delscreen(s);
}

/* SIGWINCH: ncurses told the terminal's new size, everything drawn again. */
void top_term_resized(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		resizeterm(ws.ws_row, ws.ws_col);
	clear();
}

/* Ctrl-Z: the shell's terminal while stopped, the screen again after. */
void top_term_suspend(void)
{
	endwin();
	kill(getpid(), SIGSTOP);
	refresh();
}
