/*
 * ipc: encodes and validates IPC frames, driven only by the message table
 * (common/ipc_table.c).  The one file that touches msgpack; every process links it.
 */
#include "common/ipc.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/utf8.h"

/* Elements of the outer array: type, id and at most IPC_MAX_FIELDS fields. */
#define IPC_OUTER_MAX (2 + IPC_MAX_FIELDS)

/* Interned failure reasons: see ipc_fail(). */
#define IPC_WHY_SLOTS 512
#define IPC_WHY_LEN 112

/*
 * A bounded walk over the raw msgpack bytes, run before msgpack-c sees them.
 * msgpack-c allocates by the counts a payload declares, so a few bytes that
 * claim a 4-billion-entry array would cost gigabytes; this scan accepts only
 * what the table can ever need: the outer array, arrays one level inside it
 * (strlists), no maps or ext types, every count and length within the bytes
 * that are left, and every array no longer than the table allows.  Once it
 * passes, msgpack-c's zone holds one small object per array element: the
 * outer array and at most IPC_MAX_FIELDS strlists, under 100 KiB.
 */
struct ipc_scan {
	const uint8_t *p;
	size_t len;
	size_t off;
	uint64_t list_max; /* the largest strlist count in the table */
	const char *err;   /* a static string */
};

static const char *
ipc_peer_name(unsigned peer)
{
	switch (peer) {
	case IPC_PEER_SUPERVISOR:
		return "supervisor";
	case IPC_PEER_SANDBOX:
		return "sandbox";
	case IPC_PEER_BROKER:
		return "broker";
	case IPC_PEER_LAUNCHER:
		return "launcher";
	default:
		return "an unknown peer";
	}
}

static const char *
ipc_state_name(unsigned state)
{
	switch (state) {
	case IPC_ST_HELLO:
		return "hello";
	case IPC_ST_BLANK:
		return "blank";
	case IPC_ST_LOADING:
		return "loading";
	case IPC_ST_READY:
		return "ready";
	default:
		return "an unknown";
	}
}

static bool
ipc_is_one_bit(unsigned v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* Sets *why to a string that lives forever; returns -1. */
static int
ipc_gate(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

static int ipc_fail(const char **, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Like ipc_gate(), with a reason that names the message and field.  Callers
 * keep *why past the call (a channel logs it when it closes), so formatted
 * reasons are interned: each distinct text is stored once, never changed,
 * never freed.  Only the table's names go into them, so there are a few
 * hundred at most; should the store fill up, `generic` is used instead.
 */
static int
ipc_fail(const char **why, const char *generic, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char whys[IPC_WHY_SLOTS][IPC_WHY_LEN];
	static size_t nwhys;
	char text[IPC_WHY_LEN];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	*why = generic;
	if (pthread_mutex_lock(&lock) != 0)
		return -1;
	for (i = 0; i < nwhys; i++)
		if (strcmp(whys[i], text) == 0)
			break;
	if (i == nwhys && nwhys < IPC_WHY_SLOTS)
		memcpy(whys[nwhys++], text, sizeof(text));
	if (i < nwhys)
		*why = whys[i];
	pthread_mutex_unlock(&lock);
	return -1;
}

/* `generic` is "field <what>"; the reason is "LOAD: field 'script' <what>". */
static int
ipc_field_fail(const char **why, const struct ipc_msg_spec *s, const struct ipc_field_spec *f,
    const char *generic)
{
	return ipc_fail(
	    why, generic, "%s: field '%s'%s", s->name, f->name, generic + strlen("field"));
}

static uint64_t
ipc_table_list_max(void)
{
	uint64_t max = 0;

	for (size_t i = 0; i < ipc_spec_count(); i++) {
		const struct ipc_msg_spec *s = ipc_spec_at(i);

		for (unsigned f = 0; f < s->nfields && f < IPC_MAX_FIELDS; f++)
			if (s->field[f].kind == IPC_F_STRLIST && s->field[f].max > max)
				max = s->field[f].max;
	}
	return max;
}

static int
ipc_scan_error(struct ipc_scan *sc, const char *err)
{
	sc->err = err;
	return -1;
}

/* Reads a big-endian count or length of `width` bytes. */
static int
ipc_scan_uint(struct ipc_scan *sc, unsigned width, uint64_t *v)
{
	if (sc->len - sc->off < width)
		return ipc_scan_error(sc, "truncated msgpack");
	*v = 0;
	for (unsigned i = 0; i < width; i++)
		*v = *v << 8 | sc->p[sc->off++];
	return 0;
}

/* Skips a scalar of n bytes; a str or bin body when `body`. */
static int
ipc_scan_skip(struct ipc_scan *sc, uint64_t n, bool body)
{
	if (sc->len - sc->off < n)
		return ipc_scan_error(
		    sc, body ? "msgpack length exceeds the payload" : "truncated msgpack");
	sc->off += (size_t)n;
	return 0;
}

static int ipc_scan_item(struct ipc_scan *, unsigned);

/* `depth` counts the arrays around the one being scanned. */
static int
ipc_scan_array(struct ipc_scan *sc, uint64_t count, unsigned depth)
{
	if (depth >= IPC_MAX_DEPTH)
		return ipc_scan_error(sc, "msgpack arrays nested too deep");
	if (depth == 0 && count > IPC_OUTER_MAX)
		return ipc_scan_error(sc, "too many elements in the message");
	if (depth > 0 && count > sc->list_max)
		return ipc_scan_error(sc, "msgpack array too long");
	/* Every element takes at least one byte. */
	if (count > sc->len - sc->off)
		return ipc_scan_error(sc, "msgpack count exceeds the payload");
	for (uint64_t i = 0; i < count; i++)
		if (ipc_scan_item(sc, depth + 1) == -1)
			return -1;
	return 0;
}

static int
ipc_scan_item(struct ipc_scan *sc, unsigned depth)
{
	uint64_t n;
	uint8_t b;

	if (sc->off >= sc->len)
		return ipc_scan_error(sc, "truncated msgpack");
	b = sc->p[sc->off++];
	if (b <= 0x7f || b >= 0xe0) /* fixints */
		return 0;
	if (b <= 0x8f)
		return ipc_scan_error(sc, "msgpack map in the payload");
	if (b <= 0x9f)
		return ipc_scan_array(sc, b & 0x0f, depth);
	if (b <= 0xbf)
		return ipc_scan_skip(sc, b & 0x1f, true);
	switch (b) {
	case 0xc0:
	case 0xc2:
	case 0xc3: /* nil, false, true */
		return 0;
	case 0xcc:
	case 0xd0:
		return ipc_scan_skip(sc, 1, false);
	case 0xcd:
	case 0xd1:
		return ipc_scan_skip(sc, 2, false);
	case 0xca:
	case 0xce:
	case 0xd2:
		return ipc_scan_skip(sc, 4, false);
	case 0xcb:
	case 0xcf:
	case 0xd3:
		return ipc_scan_skip(sc, 8, false);
	case 0xc4:
	case 0xd9: /* bin 8, str 8 */
		return ipc_scan_uint(sc, 1, &n) == -1 ? -1 : ipc_scan_skip(sc, n, true);
	case 0xc5:
	case 0xda:
		return ipc_scan_uint(sc, 2, &n) == -1 ? -1 : ipc_scan_skip(sc, n, true);
	case 0xc6:
	case 0xdb:
		return ipc_scan_uint(sc, 4, &n) == -1 ? -1 : ipc_scan_skip(sc, n, true);
	case 0xdc:
		return ipc_scan_uint(sc, 2, &n) == -1 ? -1 : ipc_scan_array(sc, n, depth);
	case 0xdd:
		return ipc_scan_uint(sc, 4, &n) == -1 ? -1 : ipc_scan_array(sc, n, depth);
	case 0xde:
	case 0xdf:
		return ipc_scan_error(sc, "msgpack map in the payload");
	case 0xc7:
	case 0xc8:
	case 0xc9:
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		return ipc_scan_error(sc, "msgpack ext type in the payload");
	default: /* 0xc1 */
		return ipc_scan_error(sc, "invalid msgpack byte");
	}
}

/* Checks the payload's structure; on success *end is where its array ends. */
static int
ipc_scan(const uint8_t *payload, size_t len, size_t *end, const char **why)
{
	struct ipc_scan sc = { payload, len, 0, ipc_table_list_max(), NULL };
	uint8_t b;

	if (len == 0)
		return ipc_gate(why, "empty payload");
	b = payload[0];
	if (!((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd))
		return ipc_gate(why, "payload is not a msgpack array");
	if (ipc_scan_item(&sc, 0) == -1)
		return ipc_gate(why, sc.err);
	*end = sc.off;
	return 0;
}

static int
ipc_decode_u64(const struct ipc_msg_spec *s, const struct ipc_field_spec *f,
    const msgpack_object *o, struct ipc_value *v, const char **why)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return ipc_field_fail(why, s, f, "field is not an unsigned integer");
	if (o->via.u64 > f->max)
		return ipc_field_fail(why, s, f, "field is above its maximum");
	v->u = o->via.u64;
	return 0;
}

static int
ipc_decode_str(const struct ipc_msg_spec *s, const struct ipc_field_spec *f,
    const msgpack_object *o, struct ipc_value *v, const char **why)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return ipc_field_fail(why, s, f, "field is not a string");
	if (o->via.str.size > f->max)
		return ipc_field_fail(why, s, f, "field too long");
	if (!utf8_is_valid((const uint8_t *)o->via.str.ptr, o->via.str.size))
		return ipc_field_fail(why, s, f, "field is not valid UTF-8");
	/* msgpack-c leaves ptr NULL for an empty string; callers may memchr/memcpy it. */
	v->b.ptr = o->via.str.size > 0 ? o->via.str.ptr : "";
	v->b.len = o->via.str.size;
	return 0;
}

/* Strict: a BIN field takes msgpack bin only, never str. */
static int
ipc_decode_bin(const struct ipc_msg_spec *s, const struct ipc_field_spec *f,
    const msgpack_object *o, struct ipc_value *v, const char **why)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		return ipc_field_fail(why, s, f, "field is not binary");
	if (o->via.bin.size > f->max)
		return ipc_field_fail(why, s, f, "field too long");
	v->b.ptr = o->via.bin.size > 0 ? o->via.bin.ptr : "";
	v->b.len = o->via.bin.size;
	return 0;
}

/* Fills `items` (room for the array's size, checked by the caller). */
static int
ipc_decode_strlist(const struct ipc_msg_spec *s, const struct ipc_field_spec *f,
    const msgpack_object *o, struct ipc_bytes *items, struct ipc_value *v, const char **why)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return ipc_field_fail(why, s, f, "field is not an array");
	if (o->via.array.size > f->max)
		return ipc_field_fail(why, s, f, "field has too many items");
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		const msgpack_object *e = &o->via.array.ptr[i];

		if (e->type != MSGPACK_OBJECT_STR)
			return ipc_field_fail(why, s, f, "field has an item that is not a string");
		if (e->via.str.size > f->item_max)
			return ipc_field_fail(why, s, f, "field has an item too long");
		if (!utf8_is_valid((const uint8_t *)e->via.str.ptr, e->via.str.size))
			return ipc_field_fail(
			    why, s, f, "field has an item that is not valid UTF-8");
		items[i].ptr = e->via.str.size > 0 ? e->via.str.ptr : "";
		items[i].len = e->via.str.size;
	}
	v->list = o->via.array.size ? items : NULL;
	v->count = o->via.array.size;
	return 0;
}

/* The gates after the structural scan; `root` is the outer array. */
static int
ipc_decode_object(const msgpack_object *root, unsigned from, unsigned to, unsigned state,
    struct ipc_msg *msg, const char **why)
{
	const msgpack_object *el = root->via.array.ptr;
	uint32_t n = root->via.array.size;
	const struct ipc_msg_spec *s;
	struct ipc_bytes *items = NULL;
	size_t nitems = 0;

	if (n == 0)
		return ipc_gate(why, "empty message array");
	if (el[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return ipc_gate(why, "message type is not an unsigned integer");
	if (el[0].via.u64 > UINT16_MAX || (s = ipc_spec((uint16_t)el[0].via.u64)) == NULL)
		return ipc_gate(why, "unknown message type");
	if (!ipc_is_one_bit(from) || (from & s->from) == 0)
		return ipc_fail(why, "sender not allowed", "%s not allowed from %s", s->name,
		    ipc_peer_name(from));
	if (!ipc_is_one_bit(to) || (to & s->to) == 0)
		return ipc_fail(why, "receiver not allowed", "%s not allowed to %s", s->name,
		    ipc_peer_name(to));
	if (!ipc_is_one_bit(state) || (state & s->states) == 0)
		return ipc_fail(why, "not allowed in this state", "%s not allowed in %s state",
		    s->name, ipc_state_name(state));
	if (n != 2 + s->nfields)
		return ipc_fail(why, "wrong number of elements", "%s: %u elements, expected %u",
		    s->name, (unsigned)n, 2 + s->nfields);
	if (el[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return ipc_fail(why, "id is not an unsigned integer",
		    "%s: id is not an unsigned integer", s->name);

	msg->type = s->type;
	msg->id = el[1].via.u64;
	msg->spec = s;

	/* One block holds every strlist's items; the scan bounded their counts. */
	for (unsigned i = 0; i < s->nfields; i++)
		if (s->field[i].kind == IPC_F_STRLIST && el[2 + i].type == MSGPACK_OBJECT_ARRAY)
			nitems += el[2 + i].via.array.size;
	if (nitems > 0) {
		if ((items = calloc(nitems, sizeof(*items))) == NULL)
			return ipc_gate(why, "out of memory");
		msg->priv = items;
	}

	for (unsigned i = 0; i < s->nfields; i++) {
		const struct ipc_field_spec *f = &s->field[i];
		const msgpack_object *o = &el[2 + i];
		struct ipc_value *v = &msg->field[i];
		int rc = -1;

		switch (f->kind) {
		case IPC_F_U64:
			rc = ipc_decode_u64(s, f, o, v, why);
			break;
		case IPC_F_STR:
			rc = ipc_decode_str(s, f, o, v, why);
			break;
		case IPC_F_BIN:
			rc = ipc_decode_bin(s, f, o, v, why);
			break;
		case IPC_F_STRLIST:
			rc = ipc_decode_strlist(s, f, o, items, v, why);
			if (rc == 0 && v->count > 0)
				items += v->count;
			break;
		default:
			rc = ipc_field_fail(why, s, f, "field has an unknown kind");
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

int
ipc_frame_check(const uint8_t *data, size_t avail, uint32_t cap, uint32_t *payload_len)
{
	uint32_t len;

	if (avail < IPC_FRAME_HEADER)
		return 0;
	len = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
	if (len == 0 || len > cap)
		return -1;
	if (avail - IPC_FRAME_HEADER < len)
		return 0;
	*payload_len = len;
	return 1;
}

int
ipc_decode(const uint8_t *payload, size_t len, unsigned from, unsigned to, unsigned state,
    struct ipc_msg *msg, const char **why)
{
	msgpack_unpacked up;
	size_t end = 0, off = 0;
	const char *ignored;
	int rc = -1;

	if (why == NULL)
		why = &ignored;
	memset(msg, 0, sizeof(*msg));
	if (payload == NULL && len > 0)
		return ipc_gate(why, "no payload");
	if (ipc_scan(payload, len, &end, why) == -1)
		return -1;

	msgpack_unpacked_init(&up);
	switch (msgpack_unpack_next(&up, (const char *)payload, end, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		ipc_gate(why, "out of memory");
		goto out;
	default:
		ipc_gate(why, "malformed msgpack");
		goto out;
	}
	if (off != end || up.data.type != MSGPACK_OBJECT_ARRAY) {
		ipc_gate(why, "malformed msgpack");
		goto out;
	}
	if (ipc_decode_object(&up.data, from, to, state, msg, why) == -1)
		goto out;
	if (end != len) {
		ipc_fail(why, "trailing bytes after the message",
		    "%s: trailing bytes after the message", msg->spec->name);
		goto out;
	}
	rc = 0;
out:
	/* Decoded strings point into the payload, not into the zone. */
	msgpack_unpacked_destroy(&up);
	if (rc == -1)
		ipc_msg_release(msg);
	return rc;
}

void
ipc_msg_release(struct ipc_msg *msg)
{
	free(msg->priv);
	memset(msg, 0, sizeof(*msg));
}

static bool
ipc_bytes_are_valid(const struct ipc_bytes *b, uint64_t max, bool utf8)
{
	if (b->len > max || b->len > UINT32_MAX)
		return false;
	if (b->len > 0 && b->ptr == NULL)
		return false;
	return !utf8 || utf8_is_valid((const uint8_t *)b->ptr, b->len);
}

static bool
ipc_value_is_valid(const struct ipc_field_spec *f, const struct ipc_value *v)
{
	switch (f->kind) {
	case IPC_F_U64:
		return v->u <= f->max;
	case IPC_F_STR:
		return ipc_bytes_are_valid(&v->b, f->max, true);
	case IPC_F_BIN:
		return ipc_bytes_are_valid(&v->b, f->max, false);
	case IPC_F_STRLIST:
		if (v->count > f->max || (v->count > 0 && v->list == NULL))
			return false;
		for (size_t i = 0; i < v->count; i++)
			if (!ipc_bytes_are_valid(&v->list[i], f->item_max, true))
				return false;
		return true;
	}
	return false;
}

static int
ipc_pack_write(void *data, const char *p, size_t len)
{
	return buf_append(data, p, len);
}

static int
ipc_pack_value(msgpack_packer *pk, const struct ipc_field_spec *f, const struct ipc_value *v)
{
	switch (f->kind) {
	case IPC_F_U64:
		return msgpack_pack_uint64(pk, v->u);
	case IPC_F_STR:
		if (msgpack_pack_str(pk, v->b.len) != 0)
			return -1;
		return msgpack_pack_str_body(pk, v->b.ptr, v->b.len);
	case IPC_F_BIN:
		if (msgpack_pack_bin(pk, v->b.len) != 0)
			return -1;
		return msgpack_pack_bin_body(pk, v->b.ptr, v->b.len);
	case IPC_F_STRLIST:
		if (msgpack_pack_array(pk, v->count) != 0)
			return -1;
		for (size_t i = 0; i < v->count; i++)
			if (msgpack_pack_str(pk, v->list[i].len) != 0 ||
			    msgpack_pack_str_body(pk, v->list[i].ptr, v->list[i].len) != 0)
				return -1;
		return 0;
	}
	return -1;
}

int
ipc_encode(
    struct buf *out, uint16_t type, uint64_t id, const struct ipc_value *fields, size_t nfields)
{
	const struct ipc_msg_spec *s;
	msgpack_packer pk;
	size_t start = out->len, len;
	int saved;

	if ((s = ipc_spec(type)) == NULL || nfields != s->nfields ||
	    (nfields > 0 && fields == NULL))
		goto invalid;
	for (size_t i = 0; i < nfields; i++)
		if (!ipc_value_is_valid(&s->field[i], &fields[i]))
			goto invalid;

	if (buf_append(out, "\0\0\0\0", IPC_FRAME_HEADER) == -1)
		return -1;
	msgpack_packer_init(&pk, out, ipc_pack_write);
	if (msgpack_pack_array(&pk, 2 + nfields) != 0 || msgpack_pack_uint16(&pk, type) != 0 ||
	    msgpack_pack_uint64(&pk, id) != 0)
		goto fail;
	for (size_t i = 0; i < nfields; i++)
		if (ipc_pack_value(&pk, &s->field[i], &fields[i]) != 0)
			goto fail;

	len = out->len - start - IPC_FRAME_HEADER;
	if (len > UINT32_MAX) {
		errno = EMSGSIZE;
		goto fail;
	}
	out->data[start] = (uint8_t)(len >> 24);
	out->data[start + 1] = (uint8_t)(len >> 16);
	out->data[start + 2] = (uint8_t)(len >> 8);
	out->data[start + 3] = (uint8_t)len;
	return 0;

invalid:
	errno = EINVAL;
	return -1;
fail:
	saved = errno ? errno : ENOMEM;
	out->len = start;
	errno = saved;
	return -1;
}

struct ipc_value
ipc_u64(uint64_t u)
{
	struct ipc_value v = { .u = u };

	return v;
}

struct ipc_value
ipc_str(const char *s)
{
	struct ipc_value v = { .b = { s, s ? strlen(s) : 0 } };

	return v;
}

struct ipc_value
ipc_bytes(const void *p, size_t len)
{
	struct ipc_value v = { .b = { p, len } };

	return v;
}

struct ipc_value
ipc_strlist(const struct ipc_bytes *list, size_t count)
{
	struct ipc_value v = { .list = list, .count = count };

	return v;
}

char *
ipc_strdup(const struct ipc_value *v)
{
	char *s;

	if ((s = malloc(v->b.len + 1)) == NULL)
		return NULL;
	if (v->b.len > 0)
		memcpy(s, v->b.ptr, v->b.len);
	s[v->b.len] = '\0';
	return s;
}
