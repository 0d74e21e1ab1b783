/*
 * bench/lib/latency.c: the serial latency client of bench/run.  One keep-alive
 * connection, one request at a time, each timed from the first byte written
 * to the last byte of the response read; no coordinated-omission correction
 * (a slow response delays the next request instead of being charged to it).
 *
 * Usage: latency HOST PORT HOSTHEADER PATH COUNT SECONDS [WARMUP]
 * Sends WARMUP (default 20) unmeasured requests, then COUNT requests or
 * until SECONDS have passed (at least one), whichever comes first, and prints
 * one JSON line:
 * {"n":..,"errors":..,"p50_us":..,"p99_us":..,"p999_us":..,"max_us":..,"mean_us":..}
 * A response other than 200 counts as an error.  Exit 1 on a usage or
 * connection error that ends the run early.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LAT_BUF_SIZE (1 << 16)

struct lat_conn {
	const char *host;
	int port;
	int fd;
	char buf[LAT_BUF_SIZE];
	size_t len; /* bytes in buf not yet consumed */
};

static double
lat_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
lat_connect(struct lat_conn *c)
{
	struct sockaddr_in sin;
	int one = 1;

	if (c->fd >= 0)
		close(c->fd);
	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -errno;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)c->port);
	if (inet_pton(AF_INET, c->host, &sin.sin_addr) != 1)
		return -EINVAL;
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* Reads more bytes into the buffer; 0 on progress, negative on EOF or error. */
static int
lat_fill(struct lat_conn *c)
{
	ssize_t n;

	if (c->len == sizeof(c->buf))
		return -ENOBUFS;
	do
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return -errno;
	c->len += (size_t)n;
	return 0;
}

static void
lat_consume(struct lat_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Skips N body bytes, reading as needed. */
static int
lat_skip(struct lat_conn *c, size_t n)
{
	while (n > 0) {
		size_t take;

		if (c->len == 0 && lat_fill(c) < 0)
			return -ECONNRESET;
		take = c->len < n ? c->len : n;
		lat_consume(c, take);
		n -= take;
	}
	return 0;
}

/* Returns the offset just past the next CRLF, reading as needed. */
static int
lat_line(struct lat_conn *c, size_t *end)
{
	for (;;) {
		char *p = memmem(c->buf, c->len, "\r\n", 2);

		if (p != NULL) {
			*end = (size_t)(p - c->buf) + 2;
			return 0;
		}
		if (lat_fill(c) < 0)
			return -ECONNRESET;
	}
}

static int
lat_chunked(struct lat_conn *c)
{
	for (;;) {
		size_t end, size;

		if (lat_line(c, &end) < 0)
			return -ECONNRESET;
		size = strtoul(c->buf, NULL, 16);
		lat_consume(c, end);
		if (size == 0) {
			/* Trailers, if any, end with an empty line. */
			for (;;) {
				if (lat_line(c, &end) < 0)
					return -ECONNRESET;
				lat_consume(c, end);
				if (end == 2)
					return 0;
			}
		}
		if (lat_skip(c, size + 2) < 0)
			return -ECONNRESET;
	}
}

/* Reads one response; sets *status and *closes.  Negative on a broken connection. */
static int
lat_response(struct lat_conn *c, int *status, bool *closes)
{
	char *head_end;
	size_t head_len, body_len = 0;
	bool chunked = false, has_length = false;
	char *line;

	while ((head_end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
		if (lat_fill(c) < 0)
			return -ECONNRESET;
	head_len = (size_t)(head_end - c->buf) + 4;
	*head_end = '\0';
	if (sscanf(c->buf, "HTTP/1.%*d %d", status) != 1)
		return -EPROTO;
	*closes = false;
	for (line = strstr(c->buf, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, "content-length:", 15) == 0) {
			body_len = strtoul(line + 15, NULL, 10);
			has_length = true;
		} else if (strncasecmp(line, "transfer-encoding:", 18) == 0) {
			chunked = strcasestr(line, "chunked") != NULL;
		} else if (strncasecmp(line, "connection:", 11) == 0) {
			*closes = strcasestr(line, "close") != NULL;
		}
	}
	lat_consume(c, head_len);
	if (chunked)
		return lat_chunked(c);
	if (has_length)
		return lat_skip(c, body_len);
	/* No length: the body ends with the connection. */
	while (lat_fill(c) == 0)
		c->len = 0;
	*closes = true;
	return 0;
}

static int
lat_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double
lat_percentile(const double *v, size_t n, double p)
{
	size_t rank = (size_t)(p * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

int
main(int argc, char **argv)
{
	struct lat_conn *c;
	char req[1024];
	int req_len, errors = 0, warmup = 20, rc;
	size_t count, n = 0, i;
	double seconds, deadline, sum = 0, *samples;

	if (argc < 7 || argc > 8) {
		fprintf(
		    stderr, "usage: latency HOST PORT HOSTHEADER PATH COUNT SECONDS [WARMUP]\n");
		return 1;
	}
	count = strtoul(argv[5], NULL, 10);
	seconds = strtod(argv[6], NULL);
	if (argc == 8)
		warmup = atoi(argv[7]);
	req_len = snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: edged-bench\r\n\r\n", argv[4], argv[3]);
	samples = calloc(count ? count : 1, sizeof(*samples));
	c = calloc(1, sizeof(*c));
	if (samples == NULL || c == NULL || req_len <= 0 || (size_t)req_len >= sizeof(req)) {
		fprintf(stderr, "latency: out of memory or request too long\n");
		return 1;
	}
	c->host = argv[1];
	c->port = atoi(argv[2]);
	c->fd = -1;
	if ((rc = lat_connect(c)) < 0) {
		fprintf(stderr, "latency: cannot connect to '%s:%s': %s\n", argv[1], argv[2],
		    strerror(-rc));
		return 1;
	}
	/* The time limit counts from the end of the warm-up; one request is always measured. */
	deadline = 0;
	for (i = 0; n < count; i++) {
		double t0, t1;
		int status = 0;
		bool closes = false;

		if (i == (size_t)warmup)
			deadline = lat_now_us() + seconds * 1e6;
		if (n > 0 && lat_now_us() > deadline)
			break;
		t0 = lat_now_us();
		if (write(c->fd, req, (size_t)req_len) != req_len ||
		    lat_response(c, &status, &closes) < 0) {
			/* The server dropped the connection: count it, reconnect, go on. */
			errors++;
			if (lat_connect(c) < 0 || errors > 100) {
				fprintf(stderr, "latency: connection to '%s:%s' keeps failing\n",
				    argv[1], argv[2]);
				return 1;
			}
			continue;
		}
		t1 = lat_now_us();
		if (status != 200)
			errors++;
		if (i >= (size_t)warmup) {
			samples[n++] = t1 - t0;
			sum += t1 - t0;
		}
		if (closes && lat_connect(c) < 0) {
			fprintf(stderr, "latency: cannot reconnect to '%s:%s'\n", argv[1], argv[2]);
			return 1;
		}
	}
	if (n == 0) {
		fprintf(stderr, "latency: no response measured\n");
		return 1;
	}
	qsort(samples, n, sizeof(*samples), lat_cmp);
	printf("{\"n\":%zu,\"errors\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
	       "\"max_us\":%.1f,\"mean_us\":%.1f}\n",
	    n, errors, lat_percentile(samples, n, 0.50), lat_percentile(samples, n, 0.99),
	    lat_percentile(samples, n, 0.999), samples[n - 1], sum / (double)n);
	close(c->fd);
	free(samples);
	free(c);
	return 0;
}
