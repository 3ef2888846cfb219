/* What runs a process, from its cgroup path; and a fake /proc's cgroup file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "portview/units.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *label_of(const char *path)
{
	static char buf[PV_UNIT_NAME_MAX + 16];
	struct pv_unit u;
	pv_unit_from_path(path, strlen(path), &u);
	pv_unit_label(&u, buf, sizeof(buf));
	return buf;
}

START_TEST(container_runtimes)
{
	ck_assert_str_eq(label_of("/system.slice/docker-" HEX64 ".scope"), "docker:0123456789ab");
	ck_assert_str_eq(label_of("/machine.slice/libpod-" HEX64 ".scope"), "podman:0123456789ab");
	ck_assert_str_eq(label_of("/system.slice/cri-containerd-" HEX64 ".scope"),
			 "containerd:0123456789ab");
	ck_assert_str_eq(label_of("/system.slice/crio-" HEX64 ".scope"), "cri-o:0123456789ab");
	/* cgroupfs driver: /docker/<id> */
	ck_assert_str_eq(label_of("/docker/" HEX64), "docker:0123456789ab");
	/* a container's scope inside a service's slice: the container */
	ck_assert_str_eq(label_of("/system.slice/foo.service/docker-" HEX64 ".scope"),
			 "docker:0123456789ab");
}
END_TEST

START_TEST(not_quite_containers)
{
	/* 65 characters, a capital: a scope like any other, not a container */
	ck_assert_str_eq(label_of("/system.slice/docker-" HEX64 "0.scope"),
			 "docker-" HEX64 "0.scope");
	ck_assert_str_eq(
	    label_of("/system.slice/docker-0123456789ABCDEF0123456789abcdef0123456789abcdef"
		     "0123456789abcdef.scope"),
	    "docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.scope");
	ck_assert_str_eq(label_of("/other/" HEX64), "-");
	ck_assert_str_eq(label_of("/"), "-");
	ck_assert_str_eq(label_of(""), "-");
}
END_TEST

START_TEST(pods_before_containers)
{
	ck_assert_str_eq(
	    label_of("/kubepods.slice/kubepods-burstable.slice/"
		     "kubepods-burstable-pod12345678_9abc_def0_1234_56789abcdef0.slice/"
		     "cri-containerd-" HEX64 ".scope"),
	    "pod:12345678-9abc-def0-1234-56789abcdef0");
	ck_assert_str_eq(
	    label_of("/kubepods.slice/kubepods-pod12345678_9abc_def0_1234_56789abcdef0.slice"),
	    "pod:12345678-9abc-def0-1234-56789abcdef0");
	ck_assert_str_eq(
	    label_of("/kubepods/besteffort/pod12345678-9abc-def0-1234-56789abcdef0/" HEX64),
	    "pod:12345678-9abc-def0-1234-56789abcdef0");
	/* a pod UID that is not one */
	ck_assert_str_eq(label_of("/kubepods.slice/kubepods-podnot-a-uid.slice"), "-");
}
END_TEST

START_TEST(systemd_units)
{
	ck_assert_str_eq(label_of("/system.slice/nginx.service"), "nginx.service");
	ck_assert_str_eq(label_of("/user.slice/user-1000.slice/session-3.scope"),
			 "session-3.scope");
	/* the deepest unit: an app's service inside the user manager's */
	ck_assert_str_eq(label_of("/user.slice/user-1000.slice/user@1000.service/app.slice/"
				  "gnome-terminal.service"),
			 "gnome-terminal.service");
	ck_assert_str_eq(label_of("/init.scope"), "init.scope");
	struct pv_unit u;
	pv_unit_from_path("/system.slice/nginx.service", 27, &u);
	ck_assert_int_eq(u.kind, PV_UNIT_SERVICE);
	ck_assert_str_eq(pv_unit_kind_name(u.kind), "service");
	ck_assert_ptr_null(pv_unit_kind_name(PV_UNIT_NONE));
}
END_TEST

START_TEST(cgroup_file_prefers_v2)
{
	const char *root = scratch_dir("units");
	char dir[4200], path[4300];
	snprintf(dir, sizeof(dir), "%s/42", root);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/cgroup", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("9:name=systemd:/system.slice/old.service\n"
	      "4:memory:/system.slice/mem.service\n"
	      "0::/system.slice/docker-" HEX64 ".scope\n",
	      f);
	fclose(f);
	struct pv_unit u;
	ck_assert(pv_unit_of_pid(root, 42, &u));
	ck_assert_int_eq(u.kind, PV_UNIT_DOCKER);
	ck_assert_str_eq(u.name, "0123456789ab");
	/* v1 only: systemd's hierarchy */
	f = fopen(path, "w");
	fputs("4:memory:/system.slice/mem.service\n9:name=systemd:/system.slice/sd.service\n", f);
	fclose(f);
	ck_assert(pv_unit_of_pid(root, 42, &u));
	ck_assert_str_eq(u.name, "sd.service");
	/* a process gone */
	ck_assert(!pv_unit_of_pid(root, 43, &u));
	ck_assert_int_eq(u.kind, PV_UNIT_NONE);
	unlink(path);
	rmdir(dir);
	rmdir(root);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("units");
	tcase_add_test(tc, container_runtimes);
	tcase_add_test(tc, not_quite_containers);
	tcase_add_test(tc, pods_before_containers);
	tcase_add_test(tc, systemd_units);
	tcase_add_test(tc, cgroup_file_prefers_v2);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
