/*
 * test_ipc: the IPC codec against its own table (common/ipc_table.c): every
 * message round-trips at its caps, every corrupted frame is rejected at the
 * right gate, and descriptors pass over a socketpair without leaking.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/ipc.h"
#include "tests/support.h"

/* --- fd accounting: the suite's teardown checks nothing leaked ------------ */

static int fds_at_start;

static void
suite_init(void)
{
	fds_at_start = support_count_fds();
}

static void
expect_no_fd_leak(void)
{
	int now = support_count_fds();

	cr_assert_eq(
	    now, fds_at_start, "descriptors leaked: %d before, %d after", fds_at_start, now);
}

/*
 * Criterion 2.4 reports a failed assertion in a suite's .fini but still
 * counts the test as passed, so the teardown check runs at the end of every
 * test body instead.
 */
TestSuite(ipc, .init = suite_init);

#define IPC_TEST(name)                                                                             \
	static void test_##name(void);                                                             \
	Test(ipc, name)                                                                            \
	{                                                                                          \
		test_##name();                                                                     \
		expect_no_fd_leak();                                                               \
	}                                                                                          \
	static void test_##name(void)

/* --- a tiny msgpack writer, to craft payloads the encoder refuses to make -- */

static void
put(struct buf *b, const void *p, size_t n)
{
	cr_assert_eq(buf_append(b, p, n), 0);
}

static void
put_byte(struct buf *b, uint8_t c)
{
	put(b, &c, 1);
}

static void
put_be(struct buf *b, uint64_t v, unsigned width)
{
	for (unsigned i = width; i > 0; i--)
		put_byte(b, (uint8_t)(v >> ((i - 1) * 8)));
}

static void
mp_uint(struct buf *b, uint64_t v)
{
	if (v < 0x80)
		put_byte(b, (uint8_t)v);
	else if (v <= UINT8_MAX) {
		put_byte(b, 0xcc);
		put_be(b, v, 1);
	} else if (v <= UINT16_MAX) {
		put_byte(b, 0xcd);
		put_be(b, v, 2);
	} else if (v <= UINT32_MAX) {
		put_byte(b, 0xce);
		put_be(b, v, 4);
	} else {
		put_byte(b, 0xcf);
		put_be(b, v, 8);
	}
}

static void
mp_array(struct buf *b, uint32_t n)
{
	if (n < 16)
		put_byte(b, (uint8_t)(0x90 | n));
	else if (n <= UINT16_MAX) {
		put_byte(b, 0xdc);
		put_be(b, n, 2);
	} else {
		put_byte(b, 0xdd);
		put_be(b, n, 4);
	}
}

static void
mp_str(struct buf *b, const void *p, size_t n)
{
	if (n < 32)
		put_byte(b, (uint8_t)(0xa0 | n));
	else if (n <= UINT8_MAX) {
		put_byte(b, 0xd9);
		put_be(b, n, 1);
	} else if (n <= UINT16_MAX) {
		put_byte(b, 0xda);
		put_be(b, n, 2);
	} else {
		put_byte(b, 0xdb);
		put_be(b, n, 4);
	}
	put(b, p, n);
}

static void
mp_bin(struct buf *b, const void *p, size_t n)
{
	if (n <= UINT8_MAX) {
		put_byte(b, 0xc4);
		put_be(b, n, 1);
	} else if (n <= UINT16_MAX) {
		put_byte(b, 0xc5);
		put_be(b, n, 2);
	} else {
		put_byte(b, 0xc6);
		put_be(b, n, 4);
	}
	put(b, p, n);
}

/* Writes a small, valid value for field f. */
static void
mp_valid(struct buf *b, const struct ipc_field_spec *f)
{
	switch (f->kind) {
	case IPC_F_U64:
		mp_uint(b, f->max >= 1 ? 1 : 0);
		break;
	case IPC_F_STR:
		mp_str(b, "\xc3\xa9t\xc3\xa9", 5);
		break;
	case IPC_F_BIN:
		mp_bin(b, "\x00\xff\x80", 3);
		break;
	case IPC_F_STRLIST:
		mp_array(b, 2);
		mp_str(b, "a", 1);
		mp_str(b, "b", 1);
		break;
	}
}

/* Values of every msgpack kind, each wrong for most field kinds. */
enum sample_kind {
	SK_UINT,
	SK_NEG,
	SK_NIL,
	SK_TRUE,
	SK_FLOAT,
	SK_STR,
	SK_BIN,
	SK_LIST_STR,
	SK_LIST_EMPTY,
	SK_LIST_UINT,
	SK_LIST_BIN,
	SK_LIST_NIL,
	SK_COUNT
};

static void
mp_sample(struct buf *b, enum sample_kind k)
{
	switch (k) {
	case SK_UINT:
		mp_uint(b, 1);
		break;
	case SK_NEG:
		put_byte(b, 0xff); /* -1 */
		break;
	case SK_NIL:
		put_byte(b, 0xc0);
		break;
	case SK_TRUE:
		put_byte(b, 0xc3);
		break;
	case SK_FLOAT:
		put_byte(b, 0xcb);
		put_be(b, 0x3ff0000000000000ull, 8); /* 1.0 */
		break;
	case SK_STR:
		mp_str(b, "1", 1);
		break;
	case SK_BIN:
		mp_bin(b, "1", 1);
		break;
	case SK_LIST_STR:
		mp_array(b, 1);
		mp_str(b, "x", 1);
		break;
	case SK_LIST_EMPTY:
		mp_array(b, 0);
		break;
	case SK_LIST_UINT:
		mp_array(b, 2);
		mp_str(b, "x", 1);
		mp_uint(b, 1);
		break;
	case SK_LIST_BIN:
		mp_array(b, 1);
		mp_bin(b, "x", 1);
		break;
	case SK_LIST_NIL:
		mp_array(b, 1);
		put_byte(b, 0xc0);
		break;
	case SK_COUNT:
		break;
	}
}

static bool
sample_fits(enum ipc_field_kind fk, enum sample_kind k)
{
	switch (fk) {
	case IPC_F_U64:
		return k == SK_UINT;
	case IPC_F_STR:
		return k == SK_STR;
	case IPC_F_BIN:
		return k == SK_BIN; /* strict: a str is not a BIN */
	case IPC_F_STRLIST:
		return k == SK_LIST_STR || k == SK_LIST_EMPTY;
	}
	return false;
}

typedef void field_writer(struct buf *, const struct ipc_field_spec *, void *);

/*
 * [type, id, fields...] for spec s with `nfields` fields; field `replace`
 * (or none when -1) is written by w instead of a valid value.
 */
static void
build_payload(struct buf *b, const struct ipc_msg_spec *s, unsigned nfields, int replace,
    field_writer *w, void *ctx)
{
	mp_array(b, 2 + nfields);
	mp_uint(b, s->type);
	mp_uint(b, 7);
	for (unsigned i = 0; i < nfields; i++) {
		if ((int)i == replace)
			w(b, &s->field[i], ctx);
		else if (i < s->nfields)
			mp_valid(b, &s->field[i]);
		else
			mp_uint(b, 0);
	}
}

static unsigned
lowest_bit(unsigned v)
{
	return v & -v;
}

/* Decodes as the first allowed receiver would; returns the result. */
static int
decode_as_receiver(const struct ipc_msg_spec *s, const struct buf *payload, const char **why)
{
	struct ipc_msg msg;
	int rc;

	*why = NULL;
	rc = ipc_decode(payload->data, payload->len, lowest_bit(s->from), lowest_bit(s->to),
	    lowest_bit(s->states), &msg, why);
	if (rc == 0)
		ipc_msg_release(&msg);
	else {
		cr_assert_not_null(*why);
		cr_assert_null(msg.priv, "a failed decode leaves the message released");
		cr_assert_null(msg.spec);
	}
	return rc;
}

static void
expect_rejected(
    const struct ipc_msg_spec *s, const struct buf *payload, const char *gate, const char *what)
{
	const char *why;

	cr_assert_eq(decode_as_receiver(s, payload, &why), -1, "%s: %s accepted", s->name, what);
	cr_assert_not_null(strstr(why, gate), "%s: %s: rejected for '%s', expected '%s'", s->name,
	    what, why, gate);
}

static void
expect_accepted(const struct ipc_msg_spec *s, const struct buf *payload, const char *what)
{
	const char *why;

	cr_assert_eq(
	    decode_as_receiver(s, payload, &why), 0, "%s: %s rejected: %s", s->name, what, why);
}

/* --- values at the caps' edges --------------------------------------------- */

/* Fills n bytes of valid UTF-8 mixing 1- to 4-byte characters. */
static void
fill_utf8(char *dst, size_t n, unsigned seed)
{
	static const char *const chars[] = {
		"a",
		"\xc3\xa9",
		"\xe2\x82\xac",
		"\xf0\x9d\x84\x9e",
		"\x7f",
		"\xc2\x80",
		"\xef\xbf\xbf",
		"\xf4\x8f\xbf\xbf",
		"\xed\x9f\xbf",
		"\xee\x80\x80",
		"Z",
	};
	const size_t nchars = sizeof(chars) / sizeof(chars[0]);
	size_t pos = 0;

	if (n >= 16)
		pos = (size_t)snprintf(dst, 16, "%u:", seed);
	for (unsigned i = seed; pos < n; i++) {
		const char *c = chars[i % nchars];
		size_t len = strlen(c);

		if (len <= n - pos) {
			memcpy(dst + pos, c, len);
			pos += len;
		} else
			dst[pos++] = 'x';
	}
}

struct sample {
	struct ipc_value v[IPC_MAX_FIELDS];
	void *mem[IPC_MAX_FIELDS];
	struct ipc_bytes *items[IPC_MAX_FIELDS];
};

static void
sample_fill(struct sample *sm, const struct ipc_msg_spec *s, bool at_max)
{
	memset(sm, 0, sizeof(*sm));
	for (unsigned i = 0; i < s->nfields; i++) {
		const struct ipc_field_spec *f = &s->field[i];
		char *p;

		switch (f->kind) {
		case IPC_F_U64:
			sm->v[i] = ipc_u64(at_max ? f->max : 0);
			break;
		case IPC_F_STR:
			if (!at_max) {
				sm->v[i] = ipc_str("");
				break;
			}
			cr_assert_not_null(p = sm->mem[i] = malloc(f->max));
			fill_utf8(p, f->max, i);
			sm->v[i] = ipc_bytes(p, f->max);
			break;
		case IPC_F_BIN:
			if (!at_max) {
				sm->v[i] = ipc_bytes(NULL, 0);
				break;
			}
			cr_assert_not_null(p = sm->mem[i] = malloc(f->max));
			for (size_t k = 0; k < f->max; k++)
				p[k] = (char)(k * 7 + 3 + i); /* NULs, 0xff, bad UTF-8 */
			sm->v[i] = ipc_bytes(p, f->max);
			break;
		case IPC_F_STRLIST:
			if (!at_max) {
				sm->v[i] = ipc_strlist(NULL, 0);
				break;
			}
			cr_assert_not_null(sm->items[i] = calloc(f->max, sizeof(struct ipc_bytes)));
			cr_assert_not_null(p = sm->mem[i] = malloc(f->max * f->item_max));
			for (size_t k = 0; k < f->max; k++) {
				fill_utf8(p + k * f->item_max, f->item_max, (unsigned)k);
				sm->items[i][k].ptr = p + k * f->item_max;
				sm->items[i][k].len = f->item_max;
			}
			sm->v[i] = ipc_strlist(sm->items[i], f->max);
			break;
		}
	}
}

static void
sample_free(struct sample *sm)
{
	for (unsigned i = 0; i < IPC_MAX_FIELDS; i++) {
		free(sm->mem[i]);
		free(sm->items[i]);
	}
}

static void
expect_bytes_eq(
    const struct ipc_bytes *got, const struct ipc_bytes *want, const char *msg, const char *field)
{
	cr_assert_eq(
	    got->len, want->len, "%s.%s: length %zu, want %zu", msg, field, got->len, want->len);
	if (want->len > 0)
		cr_assert_eq(
		    memcmp(got->ptr, want->ptr, want->len), 0, "%s.%s differs", msg, field);
}

static void
round_trip(const struct ipc_msg_spec *s, bool at_max)
{
	struct sample sm;
	struct ipc_msg msg;
	struct buf frame;
	const char *why = NULL;
	uint64_t id = at_max ? UINT64_MAX : 0;
	uint32_t len = 0;

	buf_init(&frame);
	sample_fill(&sm, s, at_max);
	cr_assert_eq(
	    ipc_encode(&frame, s->type, id, sm.v, s->nfields), 0, "%s: encode failed", s->name);
	cr_assert_eq(ipc_frame_check(frame.data, frame.len, IPC_CAP_TO_SANDBOX, &len), 1,
	    "%s: frame check", s->name);
	cr_assert_eq((size_t)len + IPC_FRAME_HEADER, frame.len);
	cr_assert_eq(ipc_frame_check(frame.data, frame.len - 1, IPC_CAP_TO_SANDBOX, &len), 0);

	cr_assert_eq(ipc_decode(frame.data + IPC_FRAME_HEADER, len, lowest_bit(s->from),
			 lowest_bit(s->to), lowest_bit(s->states), &msg, &why),
	    0, "%s: decode failed: %s", s->name, why);
	cr_assert_eq(msg.type, s->type);
	cr_assert_eq(msg.id, id);
	cr_assert_eq(msg.spec, s);
	for (unsigned i = 0; i < s->nfields; i++) {
		const struct ipc_field_spec *f = &s->field[i];

		switch (f->kind) {
		case IPC_F_U64:
			cr_assert_eq(msg.field[i].u, sm.v[i].u, "%s.%s", s->name, f->name);
			break;
		case IPC_F_STR:
		case IPC_F_BIN:
			expect_bytes_eq(&msg.field[i].b, &sm.v[i].b, s->name, f->name);
			break;
		case IPC_F_STRLIST:
			cr_assert_eq(
			    msg.field[i].count, sm.v[i].count, "%s.%s count", s->name, f->name);
			for (size_t k = 0; k < sm.v[i].count; k++)
				expect_bytes_eq(
				    &msg.field[i].list[k], &sm.v[i].list[k], s->name, f->name);
			break;
		}
	}
	ipc_msg_release(&msg);
	cr_assert_null(msg.priv);
	ipc_msg_release(&msg); /* twice is harmless */
	sample_free(&sm);
	buf_release(&frame);
}

IPC_TEST(round_trip_at_max)
{
	for (size_t i = 0; i < ipc_spec_count(); i++)
		round_trip(ipc_spec_at(i), true);
}

IPC_TEST(round_trip_at_min)
{
	for (size_t i = 0; i < ipc_spec_count(); i++)
		round_trip(ipc_spec_at(i), false);
}

IPC_TEST(table_is_consistent)
{
	cr_assert_gt(ipc_spec_count(), 0);
	cr_assert_null(ipc_spec_at(ipc_spec_count()));
	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);

		cr_assert_eq(ipc_spec(s->type), s, "type %u listed twice", s->type);
		cr_assert(s->nfields <= IPC_MAX_FIELDS);
		cr_assert(s->from != 0 && s->to != 0 && s->states != 0, "%s", s->name);
		for (unsigned f = 0; f < s->nfields; f++) {
			cr_assert_not_null(s->field[f].name);
			cr_assert(s->field[f].kind != IPC_F_STR || s->field[f].max <= UINT32_MAX);
			cr_assert(s->field[f].kind != IPC_F_STRLIST || s->field[f].item_max > 0);
		}
	}
}

/* The frame cap of the channel from `from` to `to` (both single peers). */
static uint32_t
channel_cap(unsigned from, unsigned to)
{
	if (to == IPC_PEER_SANDBOX)
		return IPC_CAP_TO_SANDBOX;
	if (from == IPC_PEER_SANDBOX)
		return IPC_CAP_FROM_SANDBOX;
	if (from == IPC_PEER_SUPERVISOR && to == IPC_PEER_BROKER)
		return IPC_CAP_BROKER_CONTROL;
	if (from == IPC_PEER_BROKER && to == IPC_PEER_SUPERVISOR)
		return IPC_CAP_FROM_BROKER;
	return IPC_CAP_CONTROL;
}

/*
 * A message whose fields are all at their caps must fit its channel's frame
 * cap, or the receiver drops a legitimate sender.  Strlists are left empty:
 * their items are bounded together by the frame cap, by design.
 */
IPC_TEST(every_message_fits_its_channel)
{
	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);
		struct sample sm;
		struct buf frame;
		uint32_t cap = UINT32_MAX, len;

		for (unsigned f = 1; f <= IPC_PEER_LAUNCHER; f <<= 1)
			for (unsigned t = 1; t <= IPC_PEER_LAUNCHER; t <<= 1)
				if ((s->from & f) && (s->to & t) && channel_cap(f, t) < cap)
					cap = channel_cap(f, t);
		buf_init(&frame);
		sample_fill(&sm, s, true);
		for (unsigned f = 0; f < s->nfields; f++)
			if (s->field[f].kind == IPC_F_STRLIST)
				sm.v[f] = ipc_strlist(NULL, 0);
		cr_assert_eq(ipc_encode(&frame, s->type, UINT64_MAX, sm.v, s->nfields), 0);
		cr_assert_eq(ipc_frame_check(frame.data, frame.len, cap, &len), 1,
		    "%s at its caps is %zu bytes, its channel takes %u", s->name, frame.len, cap);
		sample_free(&sm);
		buf_release(&frame);
	}
}

/* --- gates ------------------------------------------------------------------ */

static const unsigned all_peers[] = {
	0,
	IPC_PEER_SUPERVISOR,
	IPC_PEER_SANDBOX,
	IPC_PEER_BROKER,
	IPC_PEER_LAUNCHER,
	IPC_PEER_SUPERVISOR | IPC_PEER_SANDBOX,
	1u << 7,
};
static const unsigned all_states[] = {
	0,
	IPC_ST_HELLO,
	IPC_ST_BLANK,
	IPC_ST_LOADING,
	IPC_ST_READY,
	IPC_ST_LOADING | IPC_ST_READY,
	1u << 9,
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define BYTES(lit) (lit), (sizeof(lit) - 1)

static bool
allowed(unsigned bit, unsigned set)
{
	return bit != 0 && (bit & (bit - 1)) == 0 && (bit & set) != 0;
}

/* Sender, then receiver, then state: exactly the table's combinations pass. */
IPC_TEST(sender_receiver_and_state_gates)
{
	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);
		struct buf p;

		buf_init(&p);
		build_payload(&p, s, s->nfields, -1, NULL, NULL);
		for (size_t a = 0; a < NELEM(all_peers); a++)
			for (size_t b = 0; b < NELEM(all_peers); b++)
				for (size_t c = 0; c < NELEM(all_states); c++) {
					unsigned from = all_peers[a], to = all_peers[b],
						 st = all_states[c];
					const char *why = NULL, *gate = NULL;
					struct ipc_msg msg;
					int rc;

					rc = ipc_decode(p.data, p.len, from, to, st, &msg, &why);
					if (!allowed(from, s->from))
						gate = "not allowed from";
					else if (!allowed(to, s->to))
						gate = "not allowed to";
					else if (!allowed(st, s->states))
						gate = "state";
					if (gate == NULL) {
						cr_assert_eq(rc, 0, "%s %#x->%#x in %#x: %s",
						    s->name, from, to, st, why);
						ipc_msg_release(&msg);
					} else {
						cr_assert_eq(rc, -1, "%s %#x->%#x in %#x accepted",
						    s->name, from, to, st);
						cr_assert_not_null(strstr(why, gate),
						    "%s: '%s', want '%s'", s->name, why, gate);
					}
				}
		buf_release(&p);
	}
}

IPC_TEST(field_count)
{
	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);
		struct buf p;

		buf_init(&p);
		build_payload(&p, s, s->nfields, -1, NULL, NULL);
		expect_accepted(s, &p, "valid");
		buf_reset(&p);
		build_payload(&p, s, s->nfields + 1, -1, NULL, NULL);
		expect_rejected(s, &p, "elements", "one field more");
		buf_reset(&p);
		if (s->nfields > 0) {
			build_payload(&p, s, s->nfields - 1, -1, NULL, NULL);
			expect_rejected(s, &p, "elements", "one field less");
			buf_reset(&p);
		}
		mp_array(&p, 1); /* [type] */
		mp_uint(&p, s->type);
		expect_rejected(s, &p, "elements", "no id");
		buf_reset(&p);
		mp_array(&p, 0);
		expect_rejected(s, &p, "empty", "empty array");
		buf_release(&p);
	}
}

static void
write_sample(struct buf *b, const struct ipc_field_spec *f, void *ctx)
{
	(void)f;
	mp_sample(b, *(enum sample_kind *)ctx);
}

IPC_TEST(every_field_of_a_wrong_kind)
{
	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);

		for (unsigned f = 0; f < s->nfields; f++)
			for (enum sample_kind k = 0; k < SK_COUNT; k++) {
				char gate[64];
				struct buf p;

				buf_init(&p);
				build_payload(&p, s, s->nfields, (int)f, write_sample, &k);
				if (sample_fits(s->field[f].kind, k))
					expect_accepted(s, &p, s->field[f].name);
				else {
					snprintf(gate, sizeof(gate), "'%s'", s->field[f].name);
					expect_rejected(s, &p, gate, "wrong kind");
				}
				buf_release(&p);
			}
	}
}

IPC_TEST(id_must_be_an_unsigned_integer)
{
	const struct ipc_msg_spec *s = ipc_spec(IPC_DETACH);
	struct buf p;

	buf_init(&p);
	for (enum sample_kind k = 0; k < SK_COUNT; k++) {
		buf_reset(&p);
		mp_array(&p, 3);
		mp_uint(&p, s->type);
		mp_sample(&p, k);
		mp_uint(&p, 1);
		if (k == SK_UINT)
			expect_accepted(s, &p, "id");
		else
			expect_rejected(s, &p, "id is not", "bad id");
	}
	buf_reset(&p);
	mp_array(&p, 3);
	mp_uint(&p, s->type);
	mp_uint(&p, UINT64_MAX);
	mp_uint(&p, UINT64_MAX);
	expect_accepted(s, &p, "largest id");
	buf_release(&p);
}

static void
write_uint(struct buf *b, const struct ipc_field_spec *f, void *ctx)
{
	(void)f;
	mp_uint(b, *(uint64_t *)ctx);
}

/* Field-specific oversize writers. */
static void
write_long_str(struct buf *b, const struct ipc_field_spec *f, void *ctx)
{
	size_t n = *(size_t *)ctx;
	char *s;

	cr_assert_not_null(s = malloc(n));
	fill_utf8(s, n, 1);
	if (f->kind == IPC_F_BIN)
		mp_bin(b, s, n);
	else
		mp_str(b, s, n);
	free(s);
}

static void
write_long_list(struct buf *b, const struct ipc_field_spec *f, void *ctx)
{
	bool too_many = *(bool *)ctx;

	if (too_many) {
		mp_array(b, (uint32_t)f->max + 1);
		for (uint64_t k = 0; k <= f->max; k++)
			mp_str(b, "x", 1);
	} else {
		size_t n = f->item_max + 1;
		char *s;

		cr_assert_not_null(s = malloc(n));
		fill_utf8(s, n, 2);
		mp_array(b, 2);
		mp_str(b, "ok", 2);
		mp_str(b, s, n);
		free(s);
	}
}

static uint64_t
table_list_max(void)
{
	uint64_t max = 0;

	for (size_t i = 0; i < ipc_spec_count(); i++)
		for (unsigned f = 0; f < ipc_spec_at(i)->nfields; f++)
			if (ipc_spec_at(i)->field[f].kind == IPC_F_STRLIST &&
			    ipc_spec_at(i)->field[f].max > max)
				max = ipc_spec_at(i)->field[f].max;
	return max;
}

IPC_TEST(every_field_above_its_cap)
{
	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);

		for (unsigned f = 0; f < s->nfields; f++) {
			const struct ipc_field_spec *fs = &s->field[f];
			struct buf p;
			uint64_t u;
			size_t n;
			bool many;

			buf_init(&p);
			switch (fs->kind) {
			case IPC_F_U64:
				if (fs->max == UINT64_MAX)
					break;
				u = fs->max;
				build_payload(&p, s, s->nfields, (int)f, write_uint, &u);
				expect_accepted(s, &p, "u64 at max");
				buf_reset(&p);
				u = fs->max + 1;
				build_payload(&p, s, s->nfields, (int)f, write_uint, &u);
				expect_rejected(s, &p, "above its maximum", fs->name);
				break;
			case IPC_F_STR:
			case IPC_F_BIN:
				n = fs->max;
				build_payload(&p, s, s->nfields, (int)f, write_long_str, &n);
				expect_accepted(s, &p, "bytes at max");
				buf_reset(&p);
				n = fs->max + 1;
				build_payload(&p, s, s->nfields, (int)f, write_long_str, &n);
				expect_rejected(s, &p, "too long", fs->name);
				break;
			case IPC_F_STRLIST:
				/* The scan refuses arrays longer than any strlist's max. */
				many = true;
				build_payload(&p, s, s->nfields, (int)f, write_long_list, &many);
				expect_rejected(s, &p,
				    fs->max < table_list_max() ? "too many items"
							       : "array too long",
				    fs->name);
				buf_reset(&p);
				many = false;
				build_payload(&p, s, s->nfields, (int)f, write_long_list, &many);
				expect_rejected(s, &p, "item too long", fs->name);
				break;
			}
			buf_release(&p);
		}
	}
}

static const char *const bad_utf8[] = {
	"\xc0\x80",         /* overlong NUL */
	"\xc1\xbf",         /* overlong */
	"\xe0\x80\x80",     /* overlong 3-byte */
	"\xe0\x9f\xbf",     /* overlong U+07FF */
	"\xf0\x80\x80\x80", /* overlong 4-byte */
	"\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
	"\xed\xa0\x80",     /* U+D800 */
	"\xed\xbf\xbf",     /* U+DFFF */
	"\xf4\x90\x80\x80", /* U+110000 */
	"\xf5\x80\x80\x80",
	"\xf8\x88\x80\x80\x80",
	"\xff",
	"\xfe",
	"\x80", /* lone continuation */
	"\xbf",
	"\xc3", /* truncated */
	"\xe2\x82",
	"\xf0\x9d\x84",
	"\xc3\x28", /* bad continuation */
	"\xe2\x28\xa1",
	"\xf0\x9d\x28\x9e",
};

static const char *const good_utf8[] = {
	"\x7f",
	"\xc2\x80",
	"\xdf\xbf",
	"\xe0\xa0\x80",
	"\xed\x9f\xbf",
	"\xee\x80\x80",
	"\xef\xbf\xbf",
	"\xf0\x90\x80\x80",
	"\xf4\x8f\xbf\xbf",
	"",
};

struct utf8_case {
	const char *seq;
	bool in_list;
};

static void
write_utf8_case(struct buf *b, const struct ipc_field_spec *f, void *ctx)
{
	const struct utf8_case *c = ctx;
	char s[32];
	int n;

	(void)f;
	n = snprintf(s, sizeof(s), "ok%sok", c->seq);
	if (c->in_list) {
		mp_array(b, 2);
		mp_str(b, "fine", 4);
	}
	mp_str(b, s, (size_t)n);
}

IPC_TEST(every_string_must_be_utf8)
{
	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);

		for (unsigned f = 0; f < s->nfields; f++) {
			enum ipc_field_kind k = s->field[f].kind;
			struct utf8_case c = { NULL, k == IPC_F_STRLIST };
			struct buf p;

			if (k != IPC_F_STR && k != IPC_F_STRLIST)
				continue;
			buf_init(&p);
			for (size_t j = 0; j < NELEM(bad_utf8); j++) {
				c.seq = bad_utf8[j];
				buf_reset(&p);
				build_payload(&p, s, s->nfields, (int)f, write_utf8_case, &c);
				expect_rejected(s, &p, "UTF-8", s->field[f].name);
			}
			for (size_t j = 0; j < NELEM(good_utf8); j++) {
				c.seq = good_utf8[j];
				buf_reset(&p);
				build_payload(&p, s, s->nfields, (int)f, write_utf8_case, &c);
				expect_accepted(s, &p, "good UTF-8");
			}
			buf_release(&p);
		}
	}
}

IPC_TEST(trailing_bytes)
{
	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);
		struct buf p;

		buf_init(&p);
		build_payload(&p, s, s->nfields, -1, NULL, NULL);
		put_byte(&p, 0x00);
		expect_rejected(s, &p, "trailing", "one trailing byte");
		build_payload(&p, s, s->nfields, -1, NULL, NULL);
		expect_rejected(s, &p, "trailing", "two messages in one payload");
		buf_release(&p);
	}
}

/* Every proper prefix of a valid payload is rejected. */
IPC_TEST(truncated_payloads)
{
	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);
		struct buf p;
		struct buf cut;

		buf_init(&p);
		buf_init(&cut);
		build_payload(&p, s, s->nfields, -1, NULL, NULL);
		for (size_t n = 0; n < p.len; n++) {
			buf_reset(&cut);
			put(&cut, p.data, n);
			expect_rejected(s, &cut, "", "a truncated payload");
		}
		buf_release(&cut);
		buf_release(&p);
	}
}

IPC_TEST(unknown_types)
{
	/* Types are u16 in the table: wider values must not alias onto one. */
	const uint64_t wide[] = {
		65536,
		65536 + IPC_HELLO,
		65536 + IPC_LOAD,
		0x100000000ull + IPC_HELLO,
		UINT64_MAX,
	};
	const struct ipc_msg_spec *hello = ipc_spec(IPC_HELLO);
	struct buf p;
	size_t tried = 0;

	buf_init(&p);
	for (uint64_t t = 0; t < 65536 + NELEM(wide); t++) {
		uint64_t type = t < 65536 ? t : wide[t - 65536];

		if (type < 65536 && ipc_spec((uint16_t)type) != NULL)
			continue;
		buf_reset(&p);
		mp_array(&p, 5);
		mp_uint(&p, type);
		mp_uint(&p, 1);
		mp_uint(&p, 1);
		mp_uint(&p, 1);
		mp_uint(&p, 1);
		expect_rejected(hello, &p, "unknown", "unknown type");
		tried++;
	}
	cr_assert_eq(tried, 65536 + NELEM(wide) - ipc_spec_count());
	for (enum sample_kind k = 0; k < SK_COUNT; k++) {
		if (k == SK_UINT)
			continue;
		buf_reset(&p);
		mp_array(&p, 5);
		mp_sample(&p, k);
		mp_uint(&p, 1);
		mp_uint(&p, 1);
		mp_uint(&p, 1);
		mp_uint(&p, 1);
		expect_rejected(hello, &p, "type is not", "type of a wrong kind");
	}
	buf_release(&p);
}

/* Each gate fires before the later ones, as ARCHITECTURE.md section 3 orders them. */
IPC_TEST(gate_order)
{
	const struct ipc_msg_spec *s = ipc_spec(IPC_REQ_HEAD);
	struct ipc_msg msg;
	const char *why;
	enum sample_kind nil = SK_NIL;
	struct buf p;

	buf_init(&p);
	/* A wrong count and an unknown type: the type. */
	mp_array(&p, 3);
	mp_uint(&p, 99);
	mp_uint(&p, 1);
	mp_uint(&p, 1);
	cr_assert_eq(ipc_decode(p.data, p.len, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY,
			 &msg, &why),
	    -1);
	cr_assert_not_null(strstr(why, "unknown message type"), "%s", why);

	/* A wrong count from a wrong sender: the sender. */
	buf_reset(&p);
	build_payload(&p, s, 1, -1, NULL, NULL);
	cr_assert_eq(
	    ipc_decode(p.data, p.len, IPC_PEER_SANDBOX, IPC_PEER_SANDBOX, IPC_ST_READY, &msg, &why),
	    -1);
	cr_assert_not_null(strstr(why, "REQ_HEAD not allowed from sandbox"), "%s", why);

	/* A bad field in a wrong state: the state. */
	buf_reset(&p);
	build_payload(&p, s, s->nfields, 0, write_sample, &nil);
	cr_assert_eq(ipc_decode(p.data, p.len, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_BLANK,
			 &msg, &why),
	    -1);
	cr_assert_not_null(strstr(why, "state"), "%s", why);

	/* A bad field then trailing bytes: the field. */
	put_byte(&p, 0);
	cr_assert_eq(ipc_decode(p.data, p.len, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY,
			 &msg, &why),
	    -1);
	cr_assert_not_null(strstr(why, "'method'"), "%s", why);

	/* A bad id and a bad field: the id. */
	buf_reset(&p);
	mp_array(&p, 2 + s->nfields);
	mp_uint(&p, s->type);
	put_byte(&p, 0xc0);
	for (unsigned f = 0; f < s->nfields; f++)
		put_byte(&p, 0xc0);
	cr_assert_eq(ipc_decode(p.data, p.len, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY,
			 &msg, &why),
	    -1);
	cr_assert_not_null(strstr(why, "id is not"), "%s", why);

	/* A NULL why is tolerated. */
	cr_assert_eq(ipc_decode(p.data, p.len, IPC_PEER_SUPERVISOR, IPC_PEER_SANDBOX, IPC_ST_READY,
			 &msg, NULL),
	    -1);
	buf_release(&p);
}

/* --- hostile structure ------------------------------------------------------ */

static void
expect_structure_rejected(const uint8_t *bytes, size_t len, const char *gate)
{
	const struct ipc_msg_spec *s = ipc_spec(IPC_REQ_HEAD);
	struct buf p;

	buf_init(&p);
	put(&p, bytes, len);
	expect_rejected(s, &p, gate, "hostile structure");
	buf_release(&p);
}

/*
 * Counts bigger than the bytes left: rejected by the scan, before msgpack-c
 * would allocate by them ("out of memory" would mean it tried).
 */
IPC_TEST(counts_beyond_the_payload)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *gate;
	} cases[] = {
		{ BYTES("\xdd\xff\xff\xff\xff\x16\x01"), "too many elements" },
		{ BYTES("\xdd\x00\x00\x00\x0a\x16\x01"), "count exceeds" },
		{ BYTES("\xdc\xff\xff\x16\x01"), "too many elements" },
		{ BYTES("\x9a\x16\x01"), "count exceeds" },
		{ BYTES("\x9f\x16\x01"), "too many elements" },
		{ BYTES("\x95\x16\x01\xdb\xff\xff\xff\xff"), "length exceeds" },
		{ BYTES("\x95\x16\x01\xc6\xff\xff\xff\xff"), "length exceeds" },
		{ BYTES("\x95\x16\x01\xd9\xc8xyz"), "length exceeds" },
		{ BYTES("\x95\x16\x01\xbfxyz"), "length exceeds" },
		{ BYTES("\x95\x16\x01\xa3GET\xa1/\xdd\xff\xff\xff\xff\xa1x"), "array too long" },
		{ BYTES("\x95\x16\x01\xa3GET\xa1/\xdc\x01\xf4\xa1x"), "count exceeds" },
		{ BYTES("\x93\x16\x01\xcf\x00\x00"), "truncated" },
		{ BYTES("\x93\x16\x01\xd9"), "truncated" },
		{ BYTES("\x93\x16\x01\xdd\x00"), "truncated" },
		{ BYTES("\x95"), "count exceeds" },
		{ BYTES("\xdd"), "truncated" },
	};

	for (size_t i = 0; i < NELEM(cases); i++)
		expect_structure_rejected(
		    (const uint8_t *)cases[i].bytes, cases[i].len, cases[i].gate);
}

IPC_TEST(nesting_bombs)
{
	const size_t depth = 100000;
	uint8_t *bomb;
	struct buf p;

	cr_assert_not_null(bomb = malloc(depth * 5 + 1));
	memset(bomb, 0x91, depth);
	bomb[depth] = 0x00;
	expect_structure_rejected(bomb, depth + 1, "nested too deep");
	for (size_t i = 0; i < depth; i++)
		memcpy(bomb + i * 5, "\xdd\x00\x00\x00\x01", 5);
	bomb[depth * 5] = 0x00;
	expect_structure_rejected(bomb, depth * 5 + 1, "nested too deep");

	/* An array inside a strlist, and deep arrays in a field position. */
	buf_init(&p);
	put(&p, BYTES("\x95\x16\x01\xa3GET\xa1/\x92\xa1x\x91\xa1y\x01\x00"));
	expect_structure_rejected(p.data, p.len, "nested too deep");
	buf_reset(&p);
	put(&p, BYTES("\x97\x16\x01\xa3GET\xa1/"));
	put(&p, bomb, depth);
	expect_structure_rejected(p.data, p.len, "nested too deep");
	buf_release(&p);
	free(bomb);
}

IPC_TEST(maps_ext_and_reserved_bytes)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *gate;
	} cases[] = {
		{ BYTES("\x80"), "not a msgpack array" },
		{ BYTES("\x82\x00\x16\x01\x01"), "not a msgpack array" },
		{ BYTES("\xde\x00\x01\x00\x16"), "not a msgpack array" },
		{ BYTES("\xdf\x00\x00\x00\x01\x00\x16"), "not a msgpack array" },
		{ BYTES("\x16"), "not a msgpack array" },
		{ BYTES("\xa1x"), "not a msgpack array" },
		{ BYTES("\xd4\x01\x00"), "not a msgpack array" },
		{ BYTES(""), "empty payload" },
		{ BYTES("\x95\x16\x01\x80\xa1/\x90\x00\x00"), "map" },
		{ BYTES("\x95\x16\x01\x81\xa1x\xa1y\xa1/\x90\x00\x00"), "map" },
		{ BYTES("\x95\x16\x01\xa3GET\xa1/\x91\x80\x00\x00"), "map" },
		{ BYTES("\x95\x16\x01\xd4\x01\x00\xa1/\x90\x00\x00"), "ext" },
		{ BYTES("\x95\x16\x01\xc7\x01\x05x\xa1/\x90\x00\x00"), "ext" },
		{ BYTES("\x95\x16\x01\xd8\x05"
			"0123456789abcdef\xa1/\x90\x00\x00"),
		    "ext" },
		{ BYTES("\x95\x16\x01\xc1\xa1/\x90\x00\x00"), "invalid msgpack byte" },
		{ BYTES("\x95\x16\xc1\xa3GET\xa1/\x90\x00\x00"), "invalid msgpack byte" },
	};

	for (size_t i = 0; i < NELEM(cases); i++)
		expect_structure_rejected(
		    (const uint8_t *)cases[i].bytes, cases[i].len, cases[i].gate);
}

/* Non-canonical but valid encodings (signed or wide ints, str 8) are accepted. */
IPC_TEST(lenient_integer_widths)
{
	const struct ipc_msg_spec *s = ipc_spec(IPC_REQ_HEAD);
	struct buf p;

	buf_init(&p);
	put(&p,
	    BYTES("\x97\xd0\x16\xcf\x00\x00\x00\x00\x00\x00\x00\x01\xd9\x03GET\xa1/"
		  "\xdc\x00\x00\xd1\x00\x01\xd2\x00\x00\x00\x05"));
	expect_accepted(s, &p, "wide encodings");
	buf_release(&p);
}

/* --- frames ----------------------------------------------------------------- */

IPC_TEST(frame_check)
{
	uint8_t f[16] = { 0 };
	uint32_t len = 12345;

	cr_assert_eq(ipc_frame_check(NULL, 0, 100, &len), 0);
	cr_assert_eq(ipc_frame_check(f, 3, 100, &len), 0);
	/* Zero, cap + 1 and 0xffffffff are refused from the header alone. */
	cr_assert_eq(ipc_frame_check(f, 4, 100, &len), -1);
	memcpy(f, "\x00\x00\x00\x65", 4);
	cr_assert_eq(ipc_frame_check(f, 4, 100, &len), -1);
	memcpy(f, "\xff\xff\xff\xff", 4);
	cr_assert_eq(ipc_frame_check(f, 4, 100, &len), -1);
	cr_assert_eq(ipc_frame_check(f, 4, UINT32_MAX - 1, &len), -1);
	cr_assert_eq(ipc_frame_check(f, 4, IPC_CAP_TO_SANDBOX, &len), -1);
	memcpy(f, "\x01\x00\x00\x01", 4);
	cr_assert_eq(ipc_frame_check(f, 4, IPC_CAP_TO_SANDBOX, &len), -1);
	cr_assert_eq(len, 12345, "nothing reported on failure");
	/* At the cap: wait for the payload, then report it. */
	memcpy(f, "\x00\x00\x00\x0a", 4);
	cr_assert_eq(ipc_frame_check(f, 4, 10, &len), 0);
	cr_assert_eq(ipc_frame_check(f, 13, 10, &len), 0);
	cr_assert_eq(ipc_frame_check(f, 14, 10, &len), 1);
	cr_assert_eq(len, 10);
	cr_assert_eq(ipc_frame_check(f, 16, 10, &len), 1, "bytes of the next frame");
	cr_assert_eq(ipc_frame_check(f, 16, 9, &len), -1);
	memcpy(f, "\x00\x00\x00\x01", 4);
	cr_assert_eq(ipc_frame_check(f, 5, 1, &len), 1);
	cr_assert_eq(len, 1);
}

/* --- encode ----------------------------------------------------------------- */

static void
expect_encode_fails(uint16_t type, const struct ipc_value *v, size_t n, const char *what)
{
	struct buf out;
	size_t len;

	buf_init(&out);
	cr_assert_eq(buf_append(&out, "prefix", 6), 0);
	len = out.len;
	errno = 0;
	cr_assert_eq(ipc_encode(&out, type, 1, v, n), -1, "%s encoded", what);
	cr_assert_eq(errno, EINVAL, "%s: errno %d", what, errno);
	cr_assert_eq(out.len, len, "%s: buffer changed", what);
	cr_assert_eq(memcmp(out.data, "prefix", 6), 0);
	buf_release(&out);
}

IPC_TEST(encode_validates_against_the_table)
{
	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);
		struct ipc_value v[IPC_MAX_FIELDS + 1];
		struct sample sm;

		sample_fill(&sm, s, false);
		memcpy(v, sm.v, sizeof(sm.v));
		v[s->nfields] = ipc_u64(0);
		expect_encode_fails(s->type, v, s->nfields + 1, "one field more");
		if (s->nfields > 0) {
			expect_encode_fails(s->type, v, s->nfields - 1, "one field less");
			expect_encode_fails(s->type, NULL, s->nfields, "no fields");
		}
		for (unsigned f = 0; f < s->nfields; f++) {
			const struct ipc_field_spec *fs = &s->field[f];
			struct ipc_bytes items[2] = { { "ok", 2 }, { "\xed\xa0\x80", 3 } };
			char *big = NULL;

			memcpy(v, sm.v, sizeof(sm.v));
			switch (fs->kind) {
			case IPC_F_U64:
				if (fs->max == UINT64_MAX)
					continue;
				v[f] = ipc_u64(fs->max + 1);
				expect_encode_fails(s->type, v, s->nfields, "u64 above max");
				break;
			case IPC_F_STR:
			case IPC_F_BIN:
				cr_assert_not_null(big = calloc(1, fs->max + 1));
				memset(big, 'a', fs->max + 1);
				v[f] = ipc_bytes(big, fs->max + 1);
				expect_encode_fails(s->type, v, s->nfields, "bytes above max");
				v[f] = ipc_bytes(NULL, 1);
				expect_encode_fails(s->type, v, s->nfields, "NULL bytes");
				if (fs->kind == IPC_F_STR) {
					v[f] = ipc_str("\xc0\x80");
					expect_encode_fails(s->type, v, s->nfields, "bad UTF-8");
				}
				free(big);
				break;
			case IPC_F_STRLIST:
				v[f] = ipc_strlist(items, 2);
				expect_encode_fails(s->type, v, s->nfields, "bad UTF-8 item");
				v[f] = ipc_strlist(NULL, 1);
				expect_encode_fails(s->type, v, s->nfields, "NULL list");
				v[f] = ipc_strlist(items, fs->max + 1);
				expect_encode_fails(s->type, v, s->nfields, "too many items");
				cr_assert_not_null(big = calloc(1, fs->item_max + 1));
				memset(big, 'a', fs->item_max + 1);
				items[1].ptr = big;
				items[1].len = fs->item_max + 1;
				expect_encode_fails(s->type, v, s->nfields, "item too long");
				free(big);
				break;
			}
		}
		sample_free(&sm);
	}
	expect_encode_fails(99, NULL, 0, "unknown type");
	expect_encode_fails(0, NULL, 0, "type 0");
}

IPC_TEST(encode_appends_frames)
{
	const struct ipc_value hello[] = { ipc_u64(IPC_VERSION), ipc_u64(IPC_PEER_SANDBOX),
		ipc_u64(4242) };
	const struct ipc_value log[] = { ipc_u64(2), ipc_str("hi \xe2\x82\xac") };
	struct ipc_msg msg;
	struct buf out;
	const char *why;
	uint32_t len;
	char *s;

	buf_init(&out);
	cr_assert_eq(ipc_encode(&out, IPC_HELLO, 0, hello, 3), 0);
	cr_assert_eq(ipc_encode(&out, IPC_LOG, 9, log, 2), 0);

	cr_assert_eq(ipc_frame_check(out.data, out.len, IPC_CAP_FROM_SANDBOX, &len), 1);
	cr_assert_eq(ipc_decode(out.data + 4, len, IPC_PEER_SANDBOX, IPC_PEER_SUPERVISOR,
			 IPC_ST_HELLO, &msg, &why),
	    0, "%s", why);
	cr_assert_eq(msg.field[IPC_HELLO_PID].u, 4242);
	ipc_msg_release(&msg);
	buf_consume(&out, 4 + len);

	cr_assert_eq(ipc_frame_check(out.data, out.len, IPC_CAP_FROM_SANDBOX, &len), 1);
	cr_assert_eq(4 + len, out.len);
	cr_assert_eq(ipc_decode(out.data + 4, len, IPC_PEER_SANDBOX, IPC_PEER_SUPERVISOR,
			 IPC_ST_LOADING, &msg, &why),
	    0, "%s", why);
	cr_assert_eq(msg.id, 9);
	cr_assert_not_null(s = ipc_strdup(&msg.field[IPC_LOG_MESSAGE]));
	cr_assert_str_eq(s, "hi \xe2\x82\xac");
	free(s);
	ipc_msg_release(&msg);
	buf_release(&out);
}

IPC_TEST(helpers)
{
	struct ipc_bytes items[1] = { { "x", 1 } };
	struct ipc_value v;
	char *s;

	v = ipc_str("abc");
	cr_assert_eq(v.b.len, 3);
	v = ipc_bytes("a\0b", 3);
	cr_assert_eq(v.b.len, 3);
	cr_assert_not_null(s = ipc_strdup(&v));
	cr_assert_eq(memcmp(s, "a\0b\0", 4), 0);
	free(s);
	v = ipc_bytes(NULL, 0);
	cr_assert_not_null(s = ipc_strdup(&v));
	cr_assert_str_eq(s, "");
	free(s);
	v = ipc_strlist(items, 1);
	cr_assert_eq(v.list, items);
	cr_assert_eq(v.count, 1);
	cr_assert_eq(ipc_u64(7).u, 7);
}

IPC_TEST(release_a_zeroed_message)
{
	struct ipc_msg msg;

	memset(&msg, 0, sizeof(msg));
	ipc_msg_release(&msg);
	ipc_msg_release(&msg);
	cr_assert_null(msg.priv);
}

/* --- blocking frame I/O and descriptor passing ----------------------------- */

static void
make_pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void
encode_detach(struct buf *out, uint64_t channel)
{
	const struct ipc_value v[] = { ipc_u64(channel) };

	cr_assert_eq(ipc_encode(out, IPC_DETACH, 1, v, 1), 0);
}

IPC_TEST(write_all_and_read_frame)
{
	struct buf out, in;
	struct ipc_msg msg;
	const char *why;
	int sv[2];

	make_pair(sv);
	buf_init(&out);
	buf_init(&in);
	encode_detach(&out, 77);
	cr_assert_eq(ipc_write_all(sv[0], &out), 0);
	cr_assert_eq(ipc_write_all(sv[0], &out), 0);
	cr_assert_eq(ipc_read_frame(sv[1], IPC_CAP_CONTROL, &in), 0);
	cr_assert_eq(in.len, out.len - 4);
	cr_assert_eq(ipc_decode(in.data, in.len, IPC_PEER_SUPERVISOR, IPC_PEER_BROKER, IPC_ST_READY,
			 &msg, &why),
	    0, "%s", why);
	cr_assert_eq(msg.field[IPC_DETACH_CHANNEL].u, 77);
	ipc_msg_release(&msg);
	cr_assert_eq(ipc_read_frame(sv[1], IPC_CAP_CONTROL, &in), 0, "second frame");

	/* EOF before a frame, and in the middle of one: -1 with errno 0. */
	cr_assert_eq(write(sv[0], out.data, 6), 6);
	close(sv[0]);
	errno = EINVAL;
	cr_assert_eq(ipc_read_frame(sv[1], IPC_CAP_CONTROL, &in), -1);
	cr_assert_eq(errno, 0);
	errno = EINVAL;
	cr_assert_eq(ipc_read_frame(sv[1], IPC_CAP_CONTROL, &in), -1);
	cr_assert_eq(errno, 0);
	close(sv[1]);
	buf_release(&out);
	buf_release(&in);
}

IPC_TEST(read_frame_refuses_bad_lengths_before_allocating)
{
	static const char *const headers[] = {
		"\x00\x00\x00\x00",
		"\x00\x01\x00\x01",
		"\xff\xff\xff\xff",
	};
	struct buf in;
	int sv[2];

	for (size_t i = 0; i < NELEM(headers); i++) {
		make_pair(sv);
		buf_init(&in);
		cr_assert_eq(write(sv[0], headers[i], 4), 4);
		cr_assert_eq(ipc_read_frame(sv[1], IPC_CAP_CONTROL, &in), -1);
		cr_assert_eq(errno, EPROTO);
		cr_assert_null(in.data, "allocated for a refused frame");
		close(sv[0]);
		close(sv[1]);
	}
}

static int
open_pipe_pair(int p[2])
{
	return pipe2(p, O_CLOEXEC);
}

/* Reads one frame, non-blocking socket or not, collecting descriptors. */
static ssize_t
recv_frame(int sock, struct buf *in, int *fds, unsigned max_fds, unsigned *nfds)
{
	uint32_t len;
	unsigned got = 0;

	*nfds = 0;
	while (ipc_frame_check(in->data, in->len, IPC_CAP_TO_SANDBOX, &len) == 0) {
		ssize_t n = ipc_recv_with_fds(sock, in, fds + *nfds, max_fds - *nfds, &got);

		if (n <= 0)
			return n;
		*nfds += got;
	}
	return (ssize_t)in->len;
}

IPC_TEST(pass_two_descriptors)
{
	int sv[2], p1[2], p2[2], got[2];
	struct buf out, in;
	unsigned n = 99;
	char c = 0;

	make_pair(sv);
	cr_assert_eq(open_pipe_pair(p1), 0);
	cr_assert_eq(open_pipe_pair(p2), 0);
	buf_init(&out);
	buf_init(&in);
	encode_detach(&out, 5);

	cr_assert_eq(ipc_send_with_fds(sv[0], &out, (int[]) { p1[1], p2[0] }, 2), 0);
	cr_assert_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(ipc_recv_with_fds(sv[1], &in, got, 2, &n), (ssize_t)out.len);
	cr_assert_eq(n, 2);
	cr_assert_eq(in.len, out.len);
	cr_assert_eq(memcmp(in.data, out.data, out.len), 0);
	cr_assert(fcntl(got[0], F_GETFD) & FD_CLOEXEC, "received without close-on-exec");

	/* They work: write through the received write end, and vice versa. */
	cr_assert_eq(write(got[0], "A", 1), 1);
	cr_assert_eq(read(p1[0], &c, 1), 1);
	cr_assert_eq(c, 'A');
	cr_assert_eq(write(p2[1], "B", 1), 1);
	cr_assert_eq(read(got[1], &c, 1), 1);
	cr_assert_eq(c, 'B');

	/* Nothing left: EAGAIN is -1. */
	cr_assert_eq(ipc_recv_with_fds(sv[1], &in, got, 2, &n), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(n, 0);
	close(sv[0]);
	cr_assert_eq(ipc_recv_with_fds(sv[1], &in, got, 2, &n), 0, "EOF");

	for (int i = 0; i < 2; i++)
		close(got[i]);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
	close(sv[1]);
	buf_release(&out);
	buf_release(&in);
}

/* More descriptors than max_fds: an error, and none stays open. */
static void
too_many_descriptors(unsigned sent, unsigned max_fds)
{
	int sv[2], fds[8], got[8];
	struct buf out, in;
	int before;
	unsigned n = 99;

	make_pair(sv);
	buf_init(&out);
	buf_init(&in);
	encode_detach(&out, 5);
	for (unsigned i = 0; i < sent; i++)
		cr_assert_geq(fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
	before = support_count_fds();
	cr_assert_eq(ipc_send_with_fds(sv[0], &out, fds, sent), 0);
	for (unsigned i = 0; i < sent; i++)
		close(fds[i]);
	cr_assert_eq(ipc_recv_with_fds(sv[1], &in, got, max_fds, &n), -1,
	    "%u descriptors accepted with max %u", sent, max_fds);
	cr_assert_eq(errno, EPROTO);
	cr_assert_eq(n, 0);
	cr_assert_eq(in.len, 0, "bytes kept from a refused message");
	cr_assert_eq(
	    support_count_fds(), before - (int)sent, "%u sent, max %u: leaked", sent, max_fds);
	close(sv[0]);
	close(sv[1]);
	buf_release(&out);
	buf_release(&in);
}

IPC_TEST(refuse_extra_descriptors)
{
	too_many_descriptors(3, 2);
	too_many_descriptors(2, 1); /* CMSG_SPACE rounding has room for 2 */
	too_many_descriptors(1, 0); /* a sandbox channel */
	too_many_descriptors(8, 0);
	too_many_descriptors(8, 7);
}

IPC_TEST(send_rejects_bad_arguments)
{
	struct buf empty, out;
	int sv[2];
	int nine[9] = { 0 };

	make_pair(sv);
	buf_init(&empty);
	buf_init(&out);
	encode_detach(&out, 1);
	cr_assert_eq(ipc_send_with_fds(sv[0], &empty, NULL, 0), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(ipc_send_with_fds(sv[0], &out, NULL, 1), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(ipc_send_with_fds(sv[0], &out, nine, 9), -1);
	cr_assert_eq(errno, EINVAL);
	/* A closed peer is EPIPE, not a signal. */
	close(sv[1]);
	cr_assert_eq(ipc_send_with_fds(sv[0], &out, NULL, 0), -1);
	cr_assert_eq(errno, EPIPE);
	cr_assert_eq(ipc_write_all(sv[0], &out), -1);
	cr_assert_eq(errno, EPIPE);
	close(sv[0]);
	buf_release(&out);
}

struct reader {
	int sock;
	struct buf in;
	int fds[4];
	unsigned nfds;
	ssize_t rc;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;

	r->rc = recv_frame(r->sock, &r->in, r->fds, 4, &r->nfds);
	return NULL;
}

/* A frame far bigger than the socket buffer: sendmsg writes part of it. */
IPC_TEST(send_a_big_frame_with_descriptors)
{
	struct reader r = { .nfds = 0 };
	const struct ipc_msg_spec *s = ipc_spec(IPC_ATTACH);
	struct sample sm;
	struct buf out;
	pthread_t t;
	int sv[2], p[2];

	make_pair(sv);
	cr_assert_eq(open_pipe_pair(p), 0);
	buf_init(&out);
	buf_init(&r.in);
	sample_fill(&sm, s, true);
	cr_assert_eq(ipc_encode(&out, IPC_ATTACH, 3, sm.v, s->nfields), 0);
	cr_assert_gt(out.len, 1u << 20);
	r.sock = sv[1];
	cr_assert_eq(pthread_create(&t, NULL, reader_main, &r), 0);
	cr_assert_eq(ipc_send_with_fds(sv[0], &out, &p[1], 1), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(r.rc, (ssize_t)out.len);
	cr_assert_eq(r.nfds, 1);
	cr_assert_eq(memcmp(r.in.data, out.data, out.len), 0);
	cr_assert_eq(write(r.fds[0], "Z", 1), 1);
	close(r.fds[0]);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	sample_free(&sm);
	buf_release(&out);
	buf_release(&r.in);
}

#ifdef EDGED_SOURCE_DIR
/* The fuzzer's seeds (tests/fuzz/gen_corpus_ipc_decode.c) still decode. */
IPC_TEST(fuzz_seeds_are_valid_frames)
{
	const char *dir = EDGED_SOURCE_DIR "/tests/fuzz/corpus/ipc_decode";
	struct dirent *e;
	size_t seeds = 0;
	DIR *d;

	cr_assert_not_null(d = opendir(dir), "cannot open '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		char path[4096], data[4096];
		bool decoded = false;
		uint32_t len;
		size_t n;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		cr_assert_not_null(f = fopen(path, "rb"), "%s", path);
		n = fread(data, 1, sizeof(data), f);
		fclose(f);
		cr_assert_eq(ipc_frame_check((const uint8_t *)data, n, IPC_CAP_TO_SANDBOX, &len), 1,
		    "%s", path);
		cr_assert_eq(len + 4, n, "%s", path);
		for (size_t i = 0; i < ipc_spec_count() && !decoded; i++) {
			const struct ipc_msg_spec *s = ipc_spec_at(i);
			struct ipc_msg msg;
			const char *why;

			if (ipc_decode((const uint8_t *)data + 4, len, lowest_bit(s->from),
				lowest_bit(s->to), lowest_bit(s->states), &msg, &why) == 0) {
				decoded = true;
				ipc_msg_release(&msg);
			}
		}
		cr_assert(decoded, "seed '%s' no longer decodes", path);
		seeds++;
	}
	closedir(d);
	cr_assert_geq(seeds, 10);
}
#endif
