/*
 * Try pv_bc_compile programs on the running kernel (not part of the test
 * suite; needs no libmnl).
 *
 *   bc_kernel_probe [-n] [-u] [-r N] [-x HEX] CLAUSE...
 *
 * CLAUSE is s:PORTS, d:PORTS or a:PORTS (local, remote, either side), PORTS
 * a comma list of P or LO-HI; the clauses are ANDed.  -n compiles without
 * the EQ ops, -u dumps UDP instead of TCP, -r repeats the clause list N times
 * (the same filter, a longer program), -x sends the given hex bytes as the
 * program instead of the compiled one (the clauses then say what it should
 * select).
 *
 * It dumps AF_INET sockets twice: with the program as INET_DIAG_REQ_BYTECODE
 * and without any.  It prints what the kernel selected, then compares that
 * with pv_port_clauses_match over the unfiltered dump (by cookie).  Exit
 * status: 0 when they agree, 1 when they differ, 2 when the kernel rejected
 * the request, 3 on usage or local errors.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "portview/buf.h"
#include "portview/bytecode.h"

#define RECV_SIZE 32768

struct found {
	uint64_t cookie;
	uint16_t sport, dport;
	uint8_t state;
};

struct found_list {
	struct found *v;
	size_t n, cap;
};

static void found_add(struct found_list *l, const struct inet_diag_msg *m)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	uint64_t cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	l->v[l->n++] = (struct found){cookie, ntohs(m->id.idiag_sport), ntohs(m->id.idiag_dport),
				      m->idiag_state};
}

static bool found_has(const struct found_list *l, uint64_t cookie)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].cookie == cookie)
			return true;
	return false;
}

/*
 * One dump of AF_INET sockets of proto in all states, with prog as the
 * bytecode when prog_len is not 0.  Returns 0 or the kernel's negative errno.
 */
static int dump(uint8_t proto, const void *prog, size_t prog_len, struct found_list *out)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;

	struct pv_buf req;
	pv_buf_init(&req);
	struct nlmsghdr nlh = {
	    .nlmsg_type = SOCK_DIAG_BY_FAMILY,
	    .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
	    .nlmsg_seq = 1,
	};
	struct inet_diag_req_v2 r = {
	    .sdiag_family = AF_INET,
	    .sdiag_protocol = proto,
	    .idiag_states = ~0u,
	};
	pv_buf_add(&req, &nlh, sizeof(nlh));
	pv_buf_add(&req, &r, sizeof(r));
	if (prog_len) {
		struct nlattr nla = {.nla_len = (uint16_t)(NLA_HDRLEN + prog_len),
				     .nla_type = INET_DIAG_REQ_BYTECODE};
		pv_buf_add(&req, &nla, sizeof(nla));
		pv_buf_add(&req, prog, prog_len);
		pv_buf_pad(&req, 0, NLA_ALIGN(prog_len) - prog_len);
	}
	((struct nlmsghdr *)req.data)->nlmsg_len = (uint32_t)req.len;

	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int err = 0;
	if (sendto(fd, req.data, req.len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		err = -errno;
		goto out;
	}

	static char buf[RECV_SIZE] __attribute__((aligned(8)));
	for (bool done = false; !done;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		size_t left = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					err = *(int *)NLMSG_DATA(h);
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				err = e->error ? e->error : -EPROTO;
				done = true;
				break;
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				found_add(out, NLMSG_DATA(h));
		}
	}
out:
	close(fd);
	pv_buf_free(&req);
	return err;
}

static int parse_clause(const char *arg, struct pv_port_clause *c)
{
	*c = (struct pv_port_clause){0};
	switch (arg[0]) {
	case 's':
		c->sides = PV_SIDE_SRC;
		break;
	case 'd':
		c->sides = PV_SIDE_DST;
		break;
	case 'a':
		c->sides = PV_SIDE_ANY;
		break;
	default:
		return -EINVAL;
	}
	if (arg[1] != ':')
		return -EINVAL;
	const char *p = arg + 2;
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (end == p)
			return -EINVAL;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (lo > hi || hi > UINT16_MAX || c->nranges == PV_MAX_RANGES)
			return -EINVAL;
		c->ranges[c->nranges++] = (struct pv_port_range){(uint16_t)lo, (uint16_t)hi};
		if (*end != ',' && *end != '\0')
			return -EINVAL;
		p = *end ? end + 1 : end;
	}
	return 0;
}

static int parse_hex(const char *s, struct pv_buf *out)
{
	for (; *s; s += 2) {
		unsigned int v;
		if (!s[1] || sscanf(s, "%2x", &v) != 1)
			return -EINVAL;
		pv_buf_putc(out, (char)v);
	}
	return 0;
}

static void print_prog(const struct pv_buf *prog)
{
	printf("program: %zu bytes", prog->len);
	if (prog->len > 64) {
		printf(" (not shown)\n");
		return;
	}
	for (size_t i = 0; i + 4 <= prog->len; i += 4) {
		struct inet_diag_bc_op op;
		memcpy(&op, prog->data + i, sizeof(op));
		printf(" {%u,%u,%u}", op.code, op.yes, op.no);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	bool use_eq = true;
	uint8_t proto = IPPROTO_TCP;
	unsigned long repeat = 1;
	const char *hex = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "nur:x:")) != -1) {
		switch (opt) {
		case 'n':
			use_eq = false;
			break;
		case 'u':
			proto = IPPROTO_UDP;
			break;
		case 'r':
			repeat = strtoul(optarg, NULL, 10);
			break;
		case 'x':
			hex = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-n] [-u] [-r N] [-x HEX] CLAUSE...\n", argv[0]);
			return 3;
		}
	}

	size_t nbase = (size_t)(argc - optind), n = nbase * (repeat ? repeat : 1);
	struct pv_port_clause *c = xcalloc(n ? n : 1, sizeof(*c));
	struct found_list kern = {0}, all = {0};
	struct pv_buf prog;
	size_t bad = 0, want = 0;
	int status = 3, err;

	pv_buf_init(&prog);
	for (size_t i = 0; i < nbase; i++) {
		if (parse_clause(argv[optind + (int)i], &c[i]) < 0) {
			fprintf(stderr, "bad clause '%s'\n", argv[optind + (int)i]);
			goto out;
		}
	}
	for (size_t i = nbase; i < n; i++)
		c[i] = c[i % nbase];

	err = hex ? parse_hex(hex, &prog) : pv_bc_compile(c, n, NULL, 0, use_eq, &prog);
	if (err < 0) {
		printf("compile: %s (%d)\n", strerror(-err), err);
		goto out;
	}
	printf("%zu clause(s), %s\n", n, hex ? "hand-written program" : use_eq ? "EQ" : "no EQ");
	print_prog(&prog);

	err = dump(proto, prog.data, prog.len, &kern);
	if (err < 0) {
		printf("kernel: %s (%d)\n", strerror(-err), err);
		status = 2;
		goto out;
	}
	err = dump(proto, NULL, 0, &all);
	if (err < 0) {
		printf("unfiltered dump: %s (%d)\n", strerror(-err), err);
		goto out;
	}

	printf("kernel selected %zu of %zu:", kern.n, all.n);
	for (size_t i = 0; i < kern.n; i++)
		printf(" %u:%u", kern.v[i].sport, kern.v[i].dport);
	printf("\n");

	for (size_t i = 0; i < all.n; i++) {
		const struct found *f = &all.v[i];
		bool m = pv_port_clauses_match(c, n, f->sport, f->dport);
		want += m;
		if (m != found_has(&kern, f->cookie)) {
			printf("MISMATCH %u:%u state %u: C says %d\n", f->sport, f->dport, f->state,
			       m);
			bad++;
		}
	}
	for (size_t i = 0; i < kern.n; i++) {
		if (!found_has(&all, kern.v[i].cookie)) {
			printf("MISMATCH %u:%u only in the filtered dump\n", kern.v[i].sport,
			       kern.v[i].dport);
			bad++;
		}
	}
	printf("%s: C selects %zu, kernel %zu\n", bad ? "DIFFER" : "AGREE", want, kern.n);
	status = bad ? 1 : 0;
out:
	free(kern.v);
	free(all.v);
	free(c);
	pv_buf_free(&prog);
	return status;
}
