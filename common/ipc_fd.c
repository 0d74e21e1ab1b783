/*
 * ipc_fd: frame I/O on IPC sockets, with descriptor passing (SCM_RIGHTS) for
 * the trusted launcher and broker channels.  Linked by every process.
 */
#include "common/ipc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define IPC_FD_MAX 8               /* descriptors in one message, either way */
#define IPC_RECV_CHUNK (64u << 10) /* bytes read per ipc_recv_with_fds() */

union ipc_cmsg {
	struct cmsghdr hdr; /* for alignment */
	char buf[CMSG_SPACE(sizeof(int) * IPC_FD_MAX)];
};

/* One send; sockets get MSG_NOSIGNAL, so a dead peer is EPIPE, not SIGPIPE. */
static ssize_t
ipc_send_some(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	for (;;) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		return n;
	}
}

static int
ipc_write_from(int fd, const struct buf *frame, size_t off)
{
	while (off < frame->len) {
		ssize_t n = ipc_send_some(fd, frame->data + off, frame->len - off);

		if (n == -1)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

int
ipc_write_all(int fd, const struct buf *frame)
{
	return ipc_write_from(fd, frame, 0);
}

int
ipc_send_with_fds(int sock, const struct buf *frame, const int *fds, unsigned nfds)
{
	union ipc_cmsg cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t n;

	/* Descriptors ride on data bytes: a frame is never empty. */
	if (frame->len == 0 || nfds > IPC_FD_MAX || (nfds > 0 && fds == NULL)) {
		errno = EINVAL;
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = frame->data;
	iov.iov_len = frame->len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	/* The descriptors went with the first bytes; the rest is plain data. */
	return ipc_write_from(sock, frame, (size_t)n);
}

static void
ipc_close_all(const int *fds, unsigned n)
{
	int saved = errno;

	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	errno = saved;
}

/*
 * The control buffer has room for max_fds descriptors (CMSG_SPACE rounding
 * may leave room for one more): the kernel sets MSG_CTRUNC and drops what
 * does not fit, and what fits beyond max_fds is closed here.  Either way the
 * call fails with EPROTO, `in` unchanged, and nothing stays open.
 */
ssize_t
ipc_recv_with_fds(int sock, struct buf *in, int *fds, unsigned max_fds, unsigned *nfds)
{
	union ipc_cmsg cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	unsigned count = 0;
	bool extra = false;
	ssize_t n;

	*nfds = 0;
	if (max_fds > IPC_FD_MAX)
		max_fds = IPC_FD_MAX;
	if (max_fds > 0 && fds == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (buf_reserve(in, IPC_RECV_CHUNK) == -1)
		return -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = in->data + in->len;
	iov.iov_len = IPC_RECV_CHUNK;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (max_fds > 0) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * max_fds);
	}
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;

	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (count < max_fds)
				fds[count++] = fd;
			else {
				close(fd);
				extra = true;
			}
		}
	}
	if (extra || (mh.msg_flags & MSG_CTRUNC) || (n == 0 && count > 0)) {
		ipc_close_all(fds, count);
		errno = EPROTO;
		return -1;
	}
	in->len += (size_t)n;
	*nfds = count;
	return n;
}

/* Reads exactly len bytes; EOF is -1 with errno 0. */
static int
ipc_read_exact(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = 0;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ipc_read_frame(int fd, uint32_t cap, struct buf *in)
{
	uint8_t hdr[IPC_FRAME_HEADER];
	uint32_t len;

	buf_reset(in);
	if (ipc_read_exact(fd, hdr, sizeof(hdr)) == -1)
		return -1;
	/* With only the header, 0 means the length is acceptable. */
	if (ipc_frame_check(hdr, sizeof(hdr), cap, &len) != 0) {
		errno = EPROTO;
		return -1;
	}
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (buf_reserve(in, len) == -1)
		return -1;
	if (ipc_read_exact(fd, in->data, len) == -1)
		return -1;
	in->len = len;
	return 0;
}
