/* Small helpers shared by the unit tests. */
#ifndef PORTVIEW_TEST_HELPERS_H
#define PORTVIEW_TEST_HELPERS_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read a file from tests/data into a malloc'ed, 8-byte aligned buffer. */
static inline void *read_data_file(const char *name, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *p = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	((char *)p)[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

/*
 * NULL when got and want are the same text, else where they first differ,
 * with a little of both around that point: check cannot carry a message
 * with two whole documents in it.
 */
static inline const char *text_diff(const char *got, const char *want)
{
	static char msg[1024];
	size_t i = 0, line = 1, start = 0;
	while (got[i] && got[i] == want[i]) {
		if (got[i++] == '\n') {
			line++;
			start = i;
		}
	}
	if (got[i] == want[i])
		return NULL;
	size_t from = i - start > 60 ? i - 60 : start;
	int g = (int)strcspn(got + from, "\n"), w = (int)strcspn(want + from, "\n");
	snprintf(msg, sizeof(msg),
		 "texts differ at line %zu, column %zu:\n  got:  %.*s\n  want: %.*s", line,
		 i - start + 1, g < 160 ? g : 160, got + from, w < 160 ? w : 160, want + from);
	return msg;
}

#define ck_assert_text_eq(got, want)                                                               \
	do {                                                                                       \
		const char *diff_ = text_diff(got, want);                                          \
		ck_assert_msg(diff_ == NULL, "%s", diff_);                                         \
	} while (0)

/*
 * Scratch directories, "pv-NAME-XXXXXX", made inside one directory per
 * run of a suite ("$TMPDIR/pv-test-XXXXXX", TMPDIR or /tmp) that
 * run_suite() makes before the tests and removes, with all it holds,
 * after them: in the runner's process, so also after a failed assertion
 * (check ends a failed test's child with _exit()), and no run, nor any
 * mutant, leaves files behind.
 */
static char scratch_base[160];

static inline const char *scratch_dir(const char *name)
{
	static char path[256];
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/pv-%s-XXXXXX",
		 scratch_base[0] ? scratch_base
		 : tmp && *tmp	 ? tmp
				 : "/tmp",
		 name);
	ck_assert_msg(mkdtemp(path) != NULL, "cannot make a scratch directory %s", path);
	return path;
}

static inline int scratch_remove_one(const char *path, const struct stat *st, int flag,
				     struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static inline int run_suite(Suite *s)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch_base, sizeof(scratch_base), "%s/pv-test-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch_base)) {
		perror(scratch_base);
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(scratch_base, scratch_remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
