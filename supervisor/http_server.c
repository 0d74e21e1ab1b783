/*
 * http_server: the HTTP front's listeners -- binding "ADDR:PORT" sockets,
 * accepting within max_connections, and the server object's life (drain,
 * free).  Connections themselves are in http.c.  Supervisor.
 */
#include "supervisor/http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/log.h"

void
http_limits_default(struct http_limits *l)
{
	l->request_line_max = 8 * 1024;
	l->header_count_max = 100;
	l->header_bytes_max = 32 * 1024;
	l->body_max = 100ULL * 1024 * 1024;
	l->header_timeout_ms = 10 * 1000;
	l->idle_timeout_ms = 60 * 1000;
	l->body_timeout_ms = 30 * 1000;
	l->max_connections = 10000;
}

/* --- the server -------------------------------------------------------------- */

struct http_server *
http_server_new(struct event_base *base, const struct http_limits *limits,
    const struct http_server_callbacks *cb, void *arg)
{
	struct http_server *srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->base = base;
	srv->limits = *limits;
	srv->cb = *cb;
	srv->arg = arg;
	TAILQ_INIT(&srv->conns);
	return srv;
}

static void
http_accept_cb(
    struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct http_server *srv = arg;
	struct bufferevent *bev;
	char peer[64] = "?";
	int one = 1;

	(void)l;
	(void)salen;
	if (srv->limits.max_connections > 0 && srv->nconns >= srv->limits.max_connections) {
		log_debug("http: connection limit reached, closing a new one");
		close(fd);
		return;
	}
	if (sa->sa_family == AF_INET)
		inet_ntop(
		    AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, peer, sizeof(peer));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(
		    AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, peer, sizeof(peer));
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("http: cannot set up a connection from %s", peer);
		close(fd);
		return;
	}
	if (http_conn_adopt(srv, bev, peer) == NULL)
		log_warnx("http: cannot set up a connection from %s", peer);
}

static void
http_accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *srv = arg;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_enable(srv->listeners[i]);
}

static void
http_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct http_server *srv = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, HTTP_ACCEPT_RETRY_MS * 1000 };
	size_t i;

	(void)l;
	log_warnx("http: cannot accept: %s", strerror(err));
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	/* Out of descriptors: the listener stays readable, so pause it. */
	if (srv->accept_retry == NULL &&
	    (srv->accept_retry = evtimer_new(srv->base, http_accept_retry_cb, srv)) == NULL)
		return;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i]);
	evtimer_add(srv->accept_retry, &tv);
}

int
http_server_listen(struct http_server *srv, int fd)
{
	struct evconnlistener **v, *l;

	v = realloc(srv->listeners, (srv->nlisteners + 1) * sizeof(*v));
	if (v == NULL) {
		close(fd);
		return -1;
	}
	srv->listeners = v;
	l = evconnlistener_new(
	    srv->base, http_accept_cb, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l == NULL) {
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l, http_accept_error_cb);
	srv->listeners[srv->nlisteners++] = l;
	return 0;
}

void
http_server_stop_accepting(struct http_server *srv)
{
	size_t i;

	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	free(srv->listeners);
	srv->listeners = NULL;
	srv->nlisteners = 0;
	if (srv->accept_retry != NULL) {
		event_free(srv->accept_retry);
		srv->accept_retry = NULL;
	}
}

size_t
http_server_active_requests(const struct http_server *srv)
{
	return srv->active;
}

size_t
http_server_connections(const struct http_server *srv)
{
	return srv->nconns;
}

void
http_server_close_idle(struct http_server *srv)
{
	struct http_conn *c, *next;

	srv->draining = true;
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->phase != HTTP_PHASE_IDLE || c->in_process ||
		    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
			continue;
		if (http_conn_output_len(c) == 0)
			http_conn_free(c);
		else
			http_conn_set_phase(c, HTTP_PHASE_CLOSING);
	}
}

void
http_server_free(struct http_server *srv)
{
	struct http_conn *c;

	if (srv == NULL)
		return;
	http_server_stop_accepting(srv);
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		http_conn_free(c);
	free(srv);
}

/* --- listening sockets ------------------------------------------------------- */

static int
http_parse_addr(const char *addr_port, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port, *h = addr_port;
	size_t hlen;
	unsigned long p;
	char *end;

	if (addr_port[0] == '[') {
		if ((colon = strchr(addr_port, ']')) == NULL || colon[1] != ':')
			return -1;
		h = addr_port + 1;
		hlen = (size_t)(colon - h);
		port = colon + 2;
	} else {
		if ((colon = strrchr(addr_port, ':')) == NULL)
			return -1;
		hlen = (size_t)(colon - addr_port);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || *port < '0' || *port > '9')
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno != 0 || *end != '\0' || p > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (addr_port[0] == '[') {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
		*sslen = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		*sslen = sizeof(*sin);
	}
	return 0;
}

int
http_listen_socket(const char *addr_port, char *actual, size_t actual_len)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char host[INET6_ADDRSTRLEN];
	int fd, one = 1, saved;
	uint16_t port;

	if (addr_port == NULL || http_parse_addr(addr_port, &ss, &sslen) == -1) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	/* "[::]:80" serves IPv6 only, so "0.0.0.0:80" may be listened on too. */
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 || listen(fd, 1024) == -1)
		goto fail;
	if (actual != NULL && actual_len > 0) {
		sslen = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
			goto fail;
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
			port = ntohs(sin6->sin6_port);
			snprintf(actual, actual_len, "[%s]:%u", host, (unsigned)port);
		} else {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
			port = ntohs(sin->sin_port);
			snprintf(actual, actual_len, "%s:%u", host, (unsigned)port);
		}
	}
	return fd;

fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}
