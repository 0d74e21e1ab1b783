/*
 * test_buf: the growable byte buffer (common/buf.c) that frames and response
 * text are built in.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"

Test(buf, starts_empty_without_allocating)
{
	struct buf b;

	buf_init(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(buf_append(&b, "", 0), 0);
	cr_assert_null(b.data, "an empty append allocated");
	buf_release(&b);
}

Test(buf, appends_and_grows)
{
	struct buf b;
	char big[1000];

	buf_init(&b);
	memset(big, 'x', sizeof(big));
	cr_assert_eq(buf_append_str(&b, "hello"), 0);
	cr_assert_eq(buf_append(&b, " ", 1), 0);
	cr_assert_eq(buf_printf(&b, "%s %d", "world", 42), 0);
	cr_assert_eq(b.len, 14);
	cr_assert_eq(memcmp(b.data, "hello world 42", 14), 0);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(buf_append(&b, big, sizeof(big)), 0);
	cr_assert_eq(b.len, 14 + 100 * sizeof(big));
	cr_assert_geq(b.cap, b.len);
	cr_assert_eq(memcmp(b.data, "hello world 42xxx", 17), 0);
	cr_assert_eq(b.data[b.len - 1], 'x');
	buf_release(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(buf_append_str(&b, "again"), 0, "reusable after release");
	buf_release(&b);
}

Test(buf, reset_keeps_storage)
{
	struct buf b;
	uint8_t *data;

	buf_init(&b);
	cr_assert_eq(buf_append_str(&b, "abc"), 0);
	data = b.data;
	buf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.data, data);
	cr_assert_eq(buf_append_str(&b, "d"), 0);
	cr_assert_eq(b.data[0], 'd');
	buf_release(&b);
}

Test(buf, consume_drops_the_front)
{
	struct buf b;

	buf_init(&b);
	cr_assert_eq(buf_append_str(&b, "frame1frame2"), 0);
	buf_consume(&b, 6);
	cr_assert_eq(b.len, 6);
	cr_assert_eq(memcmp(b.data, "frame2", 6), 0);
	buf_consume(&b, 0);
	cr_assert_eq(b.len, 6);
	buf_consume(&b, 6);
	cr_assert_eq(b.len, 0);
	buf_release(&b);
}

Test(buf, reserve_refuses_overflow_and_keeps_the_buffer)
{
	struct buf b;

	buf_init(&b);
	cr_assert_eq(buf_append_str(&b, "keep"), 0);
	errno = 0;
	cr_assert_eq(buf_reserve(&b, SIZE_MAX), -1);
	cr_assert_eq(errno, EOVERFLOW);
	cr_assert_eq(buf_reserve(&b, SIZE_MAX - 2), -1);
	cr_assert_eq(b.len, 4);
	cr_assert_eq(memcmp(b.data, "keep", 4), 0);
	cr_assert_eq(buf_reserve(&b, 100), 0);
	cr_assert_geq(b.cap, 104);
	cr_assert_eq(b.len, 4, "reserve does not change the length");
	buf_release(&b);
}
