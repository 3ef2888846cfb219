/*
 * SOCK_DESTROY: one request per socket, its reply an acknowledgement
 * carrying 0 or the kernel's errno.  The kernel finds the socket by the
 * same id an exact lookup takes (inet_diag_find_one_icsk: addresses,
 * ports, interface) and refuses one whose cookie differs (ESTALE), so a
 * 4-tuple reused since the dump is left alone.
 */
#include "portview/destroy.h"
#include "portview/netns.h"
#include "portview/sock_diag.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* SOCK_DESTROY for s: the request that names it alone (sock_diag.h). */
static void fill_request(struct nlmsghdr *h, const struct pv_sock *s, uint32_t seq)
{
	h->nlmsg_type = SOCK_DESTROY;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = seq;
	pv_diag_request_for(s, mnl_nlmsg_put_extra_header(h, sizeof(struct inet_diag_req_v2)));
}

/* One request and its acknowledgement on a socket opened here. */
static int destroy_here(const struct pv_sock *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!nl)
		return -errno;
	int ret = 0;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	uint32_t seq = 1, portid = mnl_socket_get_portid(nl);
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	fill_request(h, s, seq);
	if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	/* mnl_cb_run turns the NLMSG_ERROR acknowledgement into -1 with errno, or 0 (STOP) */
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		int r = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
		if (r == MNL_CB_ERROR) {
			ret = errno ? -errno : -EIO;
			break;
		}
		if (r == MNL_CB_STOP)
			break;
	}
out:
	mnl_socket_close(nl);
	/* another socket now has its address (ESTALE on older kernels; ENOENT now): gone */
	return ret == -ESTALE ? -ENOENT : ret;
}

int pv_destroy(const struct pv_sock *s, int netns_fd)
{
	if (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP)
		return -EPROTONOSUPPORT;
	if (netns_fd < 0)
		return destroy_here(s);
	struct pv_netns ns = {.fd = netns_fd};
	int saved;
	int err = pv_netns_enter(&ns, &saved);
	if (err)
		return err;
	int ret = destroy_here(s);
	err = pv_netns_leave(saved);
	return err ? err : ret;
}

const char *pv_destroy_strerror(int err)
{
	switch (err) {
	case 0:
		return "closed";
	case -EPERM:
	case -EACCES:
		return "no permission: needs CAP_NET_ADMIN";
	case -EOPNOTSUPP:
		return "not supported by this kernel (CONFIG_INET_DIAG_DESTROY)";
	case -ENOENT:
		return "already gone";
	default:
		return strerror(-err);
	}
}
