/* test-codec.c: the wire protocol codec, on both platforms
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "pipecom-protocol.h"

/* Every record and frame of docs/protocol.md, encoded and decoded by
 * pipecom-protocol.c with no I/O: the exact bytes of known encodings (so
 * that a change of the wire format fails here, not only in a peer of
 * another language), round trips, and each kind of malformed input with
 * the error it gives. */

static void
assert_bytes (GBytes       *bytes,
              const guint8 *expected,
              gsize         expected_len)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  g_assert_cmpmem (data, len, expected, expected_len);
}

/* ---- Constants ---- */

static void
test_constants (void)
{
  /* The values docs/protocol.md gives. */
  g_assert_cmpint (PIPECOM_PROTOCOL_VERSION, ==, 1);
  g_assert_cmpstr (PIPECOM_ANNOUNCE_MAGIC, ==, "PCOM");
  g_assert_cmpint (PIPECOM_ANNOUNCE_MAX, ==, 512);
  g_assert_cmpint (PIPECOM_ANNOUNCE_HEADER_SIZE, ==, 12);
  g_assert_cmpint (PIPECOM_FRAME_HEADER_SIZE, ==, 12);
  g_assert_cmpint (PIPECOM_HELLO_SIZE, ==, 16);
  g_assert_cmpint (PIPECOM_ERROR_CODE_SIZE, ==, 4);
  g_assert_cmpint (PIPECOM_MAX_PATH_LEN, ==, 4000);
  g_assert_cmpstr (PIPECOM_GOODBYE_TEXT, ==, "idle");

  g_assert_cmpint (PIPECOM_ANNOUNCE_CONNECT, ==, 1);
  g_assert_cmpint (PIPECOM_ANNOUNCE_ONESHOT, ==, 2);
  g_assert_cmpint (PIPECOM_FRAME_HELLO, ==, 1);
  g_assert_cmpint (PIPECOM_FRAME_MESSAGE, ==, 2);
  g_assert_cmpint (PIPECOM_FRAME_ACK, ==, 3);
  g_assert_cmpint (PIPECOM_FRAME_REPLY, ==, 4);
  g_assert_cmpint (PIPECOM_FRAME_ERROR, ==, 5);

  /* The inline budget leaves room for a BASE, and the longest BASE for a
   * CONNECT record. */
  g_assert_cmpint (PIPECOM_ANNOUNCE_INLINE_MAX, ==, 340);
  g_assert_cmpint (PIPECOM_ANNOUNCE_BASE_MAX, ==, 432);
  g_assert_cmpint (PIPECOM_ANNOUNCE_HEADER_SIZE + PIPECOM_ANNOUNCE_BASE_MAX, <=,
                   PIPECOM_ANNOUNCE_MAX);
}

static void
test_integers (void)
{
  guint8 buf[4];
  static const guint8 u32[] = { 0x78, 0x56, 0x34, 0x12 };
  static const guint8 u16[] = { 0x34, 0x12 };

  _pipecom_put_u32 (buf, 0x12345678);
  g_assert_cmpmem (buf, 4, u32, 4);
  g_assert_cmphex (_pipecom_get_u32 (buf), ==, 0x12345678);

  _pipecom_put_u16 (buf, 0x1234);
  g_assert_cmpmem (buf, 2, u16, 2);
  g_assert_cmphex (_pipecom_get_u16 (buf), ==, 0x1234);

  _pipecom_put_u32 (buf, G_MAXUINT32);
  g_assert_cmphex (_pipecom_get_u32 (buf), ==, G_MAXUINT32);
  _pipecom_put_u16 (buf, G_MAXUINT16);
  g_assert_cmphex (_pipecom_get_u16 (buf), ==, G_MAXUINT16);
}

/* ---- Frame headers ---- */

static void
test_frame_header_encode (void)
{
  guint8 buf[PIPECOM_FRAME_HEADER_SIZE + 1];
  static const guint8 expected[] = {
    0x05, 0x00, 0x00, 0x00,   /* length 5 */
    0x04,                     /* REPLY */
    0x00,                     /* flags */
    0x00, 0x00,               /* reserved */
    0x04, 0x03, 0x02, 0x01,   /* id 0x01020304 */
  };

  memset (buf, 0xee, sizeof buf);
  _pipecom_encode_frame_header (buf, 5, PIPECOM_FRAME_REPLY, 0x01020304);
  g_assert_cmpmem (buf, PIPECOM_FRAME_HEADER_SIZE, expected, sizeof expected);
  g_assert_cmphex (buf[PIPECOM_FRAME_HEADER_SIZE], ==, 0xee);  /* nothing written past it */
}

static void
test_frame_header_round_trip (void)
{
  static const guint32 lengths[] = { 0, 1, 16, 65536, G_MAXUINT32 };
  static const guint32 ids[] = { 0, 1, 0x80000000, G_MAXUINT32 };

  for (guint type = PIPECOM_FRAME_HELLO; type <= PIPECOM_FRAME_ERROR; type++)
    for (gsize l = 0; l < G_N_ELEMENTS (lengths); l++)
      for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
        {
          guint8 buf[PIPECOM_FRAME_HEADER_SIZE];
          PipecomFrameHeader header = { 0, };
          GError *error = NULL;

          _pipecom_encode_frame_header (buf, lengths[l], type, ids[i]);
          g_assert_cmpint (_pipecom_decode_frame_header (buf, sizeof buf, 0, &header, &error), ==,
                           PIPECOM_FRAME_HEADER_VALID);
          g_assert_no_error (error);
          g_assert_cmpuint (header.length, ==, lengths[l]);
          g_assert_cmpuint (header.type, ==, type);
          g_assert_cmpuint (header.id, ==, ids[i]);
        }
}

static void
test_frame_header_truncated (void)
{
  guint8 buf[PIPECOM_FRAME_HEADER_SIZE];

  _pipecom_encode_frame_header (buf, 3, PIPECOM_FRAME_MESSAGE, 9);

  /* Too short to decode yet: no error, the caller waits for more. */
  for (gsize len = 0; len < PIPECOM_FRAME_HEADER_SIZE; len++)
    {
      PipecomFrameHeader header = { 77, 77, 77 };
      GError *error = NULL;

      g_assert_cmpint (_pipecom_decode_frame_header (buf, len, 0, &header, &error), ==,
                       PIPECOM_FRAME_HEADER_INCOMPLETE);
      g_assert_no_error (error);
      g_assert_cmpuint (header.length, ==, 77);
      g_assert_cmpuint (header.id, ==, 77);
    }

  /* More bytes than the header (its payload) do not matter. */
  {
    guint8 more[PIPECOM_FRAME_HEADER_SIZE + 3] = { 0, };
    PipecomFrameHeader header;

    memcpy (more, buf, sizeof buf);
    g_assert_cmpint (_pipecom_decode_frame_header (more, sizeof more, 0, &header, NULL), ==,
                     PIPECOM_FRAME_HEADER_VALID);
    g_assert_cmpuint (header.length, ==, 3);
    g_assert_cmpuint (header.type, ==, PIPECOM_FRAME_MESSAGE);
    g_assert_cmpuint (header.id, ==, 9);
  }
}

static void
assert_malformed (const guint8 *buf)
{
  PipecomFrameHeader header;
  GError *error = NULL;

  g_assert_cmpint (_pipecom_decode_frame_header (buf, PIPECOM_FRAME_HEADER_SIZE, 0, &header, &error),
                   ==, PIPECOM_FRAME_HEADER_MALFORMED);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL);
  g_assert_true (g_str_has_prefix (error->message, "Malformed frame header"));
  g_clear_error (&error);

  /* Without a GError too. */
  g_assert_cmpint (_pipecom_decode_frame_header (buf, PIPECOM_FRAME_HEADER_SIZE, 0, &header, NULL),
                   ==, PIPECOM_FRAME_HEADER_MALFORMED);
}

static void
test_frame_header_malformed (void)
{
  static const guint8 bad_types[] = { 0, PIPECOM_FRAME_ERROR + 1, 0x7f, 0xff };
  guint8 buf[PIPECOM_FRAME_HEADER_SIZE];

  for (gsize i = 0; i < G_N_ELEMENTS (bad_types); i++)
    {
      _pipecom_encode_frame_header (buf, 0, bad_types[i], 1);
      assert_malformed (buf);
    }

  /* Flags and reserved bytes must be 0. */
  for (gsize byte = 5; byte < 8; byte++)
    for (guint bit = 0; bit < 8; bit++)
      {
        _pipecom_encode_frame_header (buf, 0, PIPECOM_FRAME_MESSAGE, 1);
        buf[byte] = 1 << bit;
        assert_malformed (buf);
      }
}

static void
test_frame_header_oversize (void)
{
  guint8 buf[PIPECOM_FRAME_HEADER_SIZE];
  PipecomFrameHeader header = { 0, };
  GError *error = NULL;

  /* At the limit: valid. */
  _pipecom_encode_frame_header (buf, 100, PIPECOM_FRAME_MESSAGE, 42);
  g_assert_cmpint (_pipecom_decode_frame_header (buf, sizeof buf, 100, &header, &error), ==,
                   PIPECOM_FRAME_HEADER_VALID);
  g_assert_no_error (error);

  /* One over: oversize, but decoded (its payload is to be skipped). */
  _pipecom_encode_frame_header (buf, 101, PIPECOM_FRAME_MESSAGE, 42);
  g_assert_cmpint (_pipecom_decode_frame_header (buf, sizeof buf, 100, &header, &error), ==,
                   PIPECOM_FRAME_HEADER_OVERSIZE);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  g_assert_cmpuint (header.length, ==, 101);
  g_assert_cmpuint (header.type, ==, PIPECOM_FRAME_MESSAGE);
  g_assert_cmpuint (header.id, ==, 42);

  /* The largest length, with no limit (0) and with the largest limit. */
  _pipecom_encode_frame_header (buf, G_MAXUINT32, PIPECOM_FRAME_MESSAGE, 1);
  g_assert_cmpint (_pipecom_decode_frame_header (buf, sizeof buf, 0, &header, &error), ==,
                   PIPECOM_FRAME_HEADER_VALID);
  g_assert_cmpint (_pipecom_decode_frame_header (buf, sizeof buf, G_MAXUINT32, &header, &error), ==,
                   PIPECOM_FRAME_HEADER_VALID);
  g_assert_cmpint (_pipecom_decode_frame_header (buf, sizeof buf, G_MAXUINT32 - 1, &header, &error),
                   ==, PIPECOM_FRAME_HEADER_OVERSIZE);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  /* A malformed header is malformed, whatever its length. */
  _pipecom_encode_frame_header (buf, 1000, 0, 1);
  g_assert_cmpint (_pipecom_decode_frame_header (buf, sizeof buf, 10, &header, &error), ==,
                   PIPECOM_FRAME_HEADER_MALFORMED);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL);
  g_clear_error (&error);
}

/* ---- Whole frames: MESSAGE, ACK, REPLY, ERROR ---- */

static void
test_frame_ack (void)
{
  g_autoptr(GBytes) frame = _pipecom_encode_frame (PIPECOM_FRAME_ACK, 7, NULL, 0);
  static const guint8 expected[] = {
    0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
  };
  PipecomFrameHeader header;

  assert_bytes (frame, expected, sizeof expected);
  g_assert_cmpint (_pipecom_decode_frame_header (g_bytes_get_data (frame, NULL),
                                                 g_bytes_get_size (frame), 0, &header, NULL),
                   ==, PIPECOM_FRAME_HEADER_VALID);
  g_assert_cmpuint (header.type, ==, PIPECOM_FRAME_ACK);
  g_assert_cmpuint (header.id, ==, 7);
  g_assert_cmpuint (header.length, ==, 0);
}

static void
test_frame_reply (void)
{
  static const guint8 expected[] = {
    0x04, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    'p', 'o', 'n', 'g',
  };
  static const guint8 message[] = {
    0x04, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
    'p', 'i', 'n', 'g',
  };
  g_autoptr(GBytes) frame = _pipecom_encode_frame (PIPECOM_FRAME_REPLY, 256, "pong", 4);
  g_autoptr(GBytes) msg = _pipecom_encode_frame (PIPECOM_FRAME_MESSAGE, G_MAXUINT32, "ping", 4);
  g_autoptr(GBytes) empty = _pipecom_encode_frame (PIPECOM_FRAME_REPLY, 1, NULL, 0);
  const guint8 *data;
  PipecomFrameHeader header;

  assert_bytes (frame, expected, sizeof expected);
  assert_bytes (msg, message, sizeof message);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, PIPECOM_FRAME_HEADER_SIZE);

  /* Round trip: the header, then its payload right after it. */
  data = g_bytes_get_data (frame, NULL);
  g_assert_cmpint (_pipecom_decode_frame_header (data, g_bytes_get_size (frame), 4, &header, NULL),
                   ==, PIPECOM_FRAME_HEADER_VALID);
  g_assert_cmpuint (header.type, ==, PIPECOM_FRAME_REPLY);
  g_assert_cmpuint (header.id, ==, 256);
  g_assert_cmpmem (data + PIPECOM_FRAME_HEADER_SIZE, header.length, "pong", 4);
}

static void
test_frame_error (void)
{
  static const guint8 payload_bytes[] = {
    0x07, 0x00, 0x00, 0x00, 'i', 'd', 'l', 'e', ':', ' ', 'b', 'y', 'e',
  };
  static const guint8 frame_bytes[] = {
    0x0d, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 'i', 'd', 'l', 'e', ':', ' ', 'b', 'y', 'e',
  };
  g_autoptr(GBytes) payload = _pipecom_error_payload_new (PIPECOM_ERROR_CLOSED,
                                                          PIPECOM_GOODBYE_TEXT ": bye");
  g_autoptr(GBytes) frame = NULL;
  g_autofree char *text = NULL;
  guint32 code = 0;

  g_assert_cmpint (PIPECOM_ERROR_CLOSED, ==, 7);  /* as docs/protocol.md says */
  assert_bytes (payload, payload_bytes, sizeof payload_bytes);
  frame = _pipecom_encode_frame (PIPECOM_FRAME_ERROR, 0, g_bytes_get_data (payload, NULL),
                                 g_bytes_get_size (payload));
  assert_bytes (frame, frame_bytes, sizeof frame_bytes);

  text = _pipecom_error_payload_parse (payload, &code);
  g_assert_cmpuint (code, ==, PIPECOM_ERROR_CLOSED);
  g_assert_cmpstr (text, ==, "idle: bye");
}

static void
test_error_payload_round_trip (void)
{
  static const char *texts[] = { "", "x", "pipe “p” is stopping", "a\nb" };

  for (guint32 code = 0; code <= PIPECOM_ERROR_MESSAGE_TOO_LARGE + 1; code++)
    for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
      {
        g_autoptr(GBytes) payload = _pipecom_error_payload_new (code, texts[i]);
        g_autofree char *text = NULL;
        guint32 got = G_MAXUINT32;

        g_assert_cmpuint (g_bytes_get_size (payload), ==,
                          PIPECOM_ERROR_CODE_SIZE + strlen (texts[i]));
        text = _pipecom_error_payload_parse (payload, &got);
        g_assert_cmpuint (got, ==, code);
        g_assert_cmpstr (text, ==, texts[i]);
      }
}

static void
test_error_payload_malformed (void)
{
  static const guint8 short_payload[] = { 0x01, 0x02, 0x03 };

  /* Shorter than its code: a PROTOCOL error, whatever the bytes. */
  for (gsize len = 0; len < PIPECOM_ERROR_CODE_SIZE; len++)
    {
      g_autoptr(GBytes) payload = g_bytes_new (short_payload, len);
      g_autofree char *text = NULL;
      guint32 code = 0;

      text = _pipecom_error_payload_parse (payload, &code);
      g_assert_cmpuint (code, ==, PIPECOM_ERROR_PROTOCOL);
      g_assert_cmpstr (text, ==, "malformed error");
    }
}

/* ---- HELLO ---- */

static void
test_hello_encode (void)
{
  guint8 buf[PIPECOM_HELLO_SIZE];
  static const guint8 expected[] = {
    0x01, 0x00, 0x00, 0x00,   /* version 1 */
    0x00, 0x00, 0x00, 0x00,   /* reserved */
    0x02, 0x00, 0x00, 0x00,   /* max size, low word */
    0x01, 0x00, 0x00, 0x00,   /* high word */
  };
  static const guint8 unlimited[PIPECOM_HELLO_SIZE] = { 0x01, 0, };

  memset (buf, 0xee, sizeof buf);
  _pipecom_encode_hello (buf, G_GUINT64_CONSTANT (0x100000002));
  g_assert_cmpmem (buf, sizeof buf, expected, sizeof expected);

  memset (buf, 0xee, sizeof buf);
  _pipecom_encode_hello (buf, 0);
  g_assert_cmpmem (buf, sizeof buf, unlimited, sizeof unlimited);
}

static void
test_hello_round_trip (void)
{
  static const guint64 sizes[] = {
    0, 1, 4096, G_MAXUINT32, G_GUINT64_CONSTANT (0x100000000), G_MAXUINT64,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      guint8 buf[PIPECOM_HELLO_SIZE + 4] = { 0, };
      guint64 max = 12345;
      GError *error = NULL;

      _pipecom_encode_hello (buf, sizes[i]);
      g_assert_true (_pipecom_decode_hello (buf, PIPECOM_HELLO_SIZE, &max, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (max, ==, sizes[i]);

      /* Bytes after the 16 are ignored. */
      max = 12345;
      g_assert_true (_pipecom_decode_hello (buf, sizeof buf, &max, &error));
      g_assert_cmpuint (max, ==, sizes[i]);
    }
}

static void
test_hello_malformed (void)
{
  static const guint32 versions[] = { 0, 2, 0x100, G_MAXUINT32 };
  guint8 buf[PIPECOM_HELLO_SIZE];
  guint64 max = 99;
  GError *error = NULL;

  /* Truncated. */
  _pipecom_encode_hello (buf, 10);
  for (gsize len = 0; len < PIPECOM_HELLO_SIZE; len++)
    {
      g_assert_false (_pipecom_decode_hello (buf, len, &max, &error));
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL);
      g_assert_true (g_str_has_prefix (error->message, "Truncated HELLO"));
      g_clear_error (&error);
      g_assert_cmpuint (max, ==, 99);
    }

  /* Another version. */
  for (gsize i = 0; i < G_N_ELEMENTS (versions); i++)
    {
      _pipecom_encode_hello (buf, 10);
      _pipecom_put_u32 (buf, versions[i]);
      g_assert_false (_pipecom_decode_hello (buf, sizeof buf, &max, &error));
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL);
      g_assert_true (g_str_has_prefix (error->message, "Unknown protocol version"));
      g_clear_error (&error);
      g_assert_cmpuint (max, ==, 99);

      g_assert_false (_pipecom_decode_hello (buf, sizeof buf, &max, NULL));
    }
}

/* ---- The announcement record ---- */

static void
test_announce_encode (void)
{
  guint8 buf[PIPECOM_ANNOUNCE_MAX];
  static const guint8 connect[] = {
    'P', 'C', 'O', 'M',
    0x01,                     /* version */
    0x01,                     /* CONNECT */
    0x10, 0x00,               /* total 16 */
    0x04, 0x00,               /* base 4 */
    0x00, 0x00,               /* inline 0 */
    '/', 'r', '/', 'c',
  };
  static const guint8 oneshot[] = {
    'P', 'C', 'O', 'M', 0x01, 0x02, 0x0f, 0x00, 0x01, 0x00, 0x02, 0x00,
    '-', 'h', 'i',
  };

  g_assert_cmpuint (_pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, "/r/c", NULL, 0), ==,
                    sizeof connect);
  g_assert_cmpmem (buf, sizeof connect, connect, sizeof connect);

  /* Windows: the placeholder base "-", and a message inline. */
  g_assert_cmpuint (_pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_ONESHOT, "-",
                                              (const guint8 *) "hi", 2), ==, sizeof oneshot);
  g_assert_cmpmem (buf, sizeof oneshot, oneshot, sizeof oneshot);
  g_assert_cmpuint (_pipecom_announce_record_size (buf), ==, sizeof oneshot);
}

static void
assert_decodes (const guint8 *buf,
                gsize         len,
                gboolean      at_end,
                guint8        kind,
                const char   *base,
                const guint8 *inline_data,
                gsize         inline_len)
{
  PipecomAnnounce record;

  g_assert_cmpuint (_pipecom_decode_announce (buf, len, at_end, &record), ==, len);
  g_assert_cmpuint (record.version, ==, PIPECOM_PROTOCOL_VERSION);
  g_assert_cmpuint (record.kind, ==, kind);
  g_assert_cmpstr (record.base, ==, base);
  g_assert_cmpuint (record.inline_len, ==, inline_len);
  g_assert_true (record.inline_data == buf + PIPECOM_ANNOUNCE_HEADER_SIZE + strlen (base));
  g_assert_cmpmem (record.inline_data, record.inline_len, inline_data, inline_len);
  g_free (record.base);
}

static void
test_announce_round_trip (void)
{
  guint8 buf[PIPECOM_ANNOUNCE_MAX];
  guint8 message[PIPECOM_ANNOUNCE_INLINE_MAX];
  g_autofree char *long_base = g_strnfill (PIPECOM_ANNOUNCE_BASE_MAX, 'b');
  gsize len;

  for (gsize i = 0; i < sizeof message; i++)
    message[i] = 'a' + i % 26;

  for (guint at_end = 0; at_end < 2; at_end++)
    {
      len = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT,
                                      "/run/user/1000/pipecom/.c1-2-0000abcd", NULL, 0);
      assert_decodes (buf, len, at_end, PIPECOM_ANNOUNCE_CONNECT,
                      "/run/user/1000/pipecom/.c1-2-0000abcd", NULL, 0);

      len = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_ONESHOT, "/b", message, sizeof message);
      g_assert_cmpuint (len, ==, PIPECOM_ANNOUNCE_HEADER_SIZE + 2 + sizeof message);
      assert_decodes (buf, len, at_end, PIPECOM_ANNOUNCE_ONESHOT, "/b", message, sizeof message);

      len = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_ONESHOT, "-", (const guint8 *) "", 0);
      assert_decodes (buf, len, at_end, PIPECOM_ANNOUNCE_ONESHOT, "-", NULL, 0);

      /* The longest base, and a record of exactly PIPECOM_ANNOUNCE_MAX. */
      len = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, long_base, NULL, 0);
      assert_decodes (buf, len, at_end, PIPECOM_ANNOUNCE_CONNECT, long_base, NULL, 0);

      len = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_ONESHOT, long_base, message,
                                      PIPECOM_ANNOUNCE_MAX - PIPECOM_ANNOUNCE_HEADER_SIZE -
                                      PIPECOM_ANNOUNCE_BASE_MAX);
      g_assert_cmpuint (len, ==, PIPECOM_ANNOUNCE_MAX);
      assert_decodes (buf, len, at_end, PIPECOM_ANNOUNCE_ONESHOT, long_base, message,
                      PIPECOM_ANNOUNCE_MAX - PIPECOM_ANNOUNCE_HEADER_SIZE -
                      PIPECOM_ANNOUNCE_BASE_MAX);
    }
}

static void
test_announce_truncated (void)
{
  guint8 buf[PIPECOM_ANNOUNCE_MAX];
  gsize total = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_ONESHOT, "/b/c",
                                          (const guint8 *) "hello", 5);

  for (gsize len = 1; len < total; len++)
    {
      PipecomAnnounce record;

      /* More may come: wait. */
      g_assert_cmpuint (_pipecom_decode_announce (buf, len, FALSE, &record), ==, 0);
      g_assert_null (record.base);

      /* Nothing more can come: the bytes are dropped, no record. */
      g_assert_cmpuint (_pipecom_decode_announce (buf, len, TRUE, &record), ==, len);
      g_assert_null (record.base);
    }

  /* A header alone says the size of the whole record. */
  g_assert_cmpuint (_pipecom_announce_record_size (buf), ==, total);
}

static void
test_announce_wrong_version (void)
{
  guint8 buf[PIPECOM_ANNOUNCE_MAX];
  gsize total = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, "/b", NULL, 0);
  PipecomAnnounce record;

  /* Decoded with its version, for the listener to answer ERROR PROTOCOL. */
  buf[4] = 2;
  g_assert_cmpuint (_pipecom_announce_record_size (buf), ==, total);
  g_assert_cmpuint (_pipecom_decode_announce (buf, total, TRUE, &record), ==, total);
  g_assert_cmpuint (record.version, ==, 2);
  g_assert_cmpuint (record.kind, ==, PIPECOM_ANNOUNCE_CONNECT);
  g_assert_cmpstr (record.base, ==, "/b");
  g_free (record.base);
}

/* A header that is not a valid record's: no size, and the decoder drops
 * the bytes up to the next magic. */
static void
assert_invalid_header (const guint8 *buf,
                       gsize         len)
{
  PipecomAnnounce record;
  gsize used;

  g_assert_cmpuint (_pipecom_announce_record_size (buf), ==, 0);
  used = _pipecom_decode_announce (buf, len, FALSE, &record);
  g_assert_cmpuint (used, >, 0);
  g_assert_null (record.base);
}

static void
test_announce_malformed (void)
{
  static const guint8 bad_kinds[] = { 0, 3, 0xff };
  guint8 buf[PIPECOM_ANNOUNCE_MAX];
  gsize total;

  /* Bad kind. */
  for (gsize i = 0; i < G_N_ELEMENTS (bad_kinds); i++)
    {
      total = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, "/b", NULL, 0);
      buf[5] = bad_kinds[i];
      assert_invalid_header (buf, total);
    }

  /* Bad magic. */
  total = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, "/b", NULL, 0);
  buf[3] = 'X';
  assert_invalid_header (buf, total);

  /* Oversize: a total over PIPECOM_ANNOUNCE_MAX, even if consistent. */
  total = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, "/b", NULL, 0);
  _pipecom_put_u16 (buf + 6, PIPECOM_ANNOUNCE_MAX + 1);
  _pipecom_put_u16 (buf + 8, PIPECOM_ANNOUNCE_MAX + 1 - PIPECOM_ANNOUNCE_HEADER_SIZE);
  assert_invalid_header (buf, total);

  /* Total below the header, or not header + base + inline. */
  total = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, "/b", NULL, 0);
  _pipecom_put_u16 (buf + 6, PIPECOM_ANNOUNCE_HEADER_SIZE - 1);
  assert_invalid_header (buf, total);
  _pipecom_put_u16 (buf + 6, total + 1);
  assert_invalid_header (buf, total);
  _pipecom_put_u16 (buf + 6, total);
  _pipecom_put_u16 (buf + 10, 1);
  assert_invalid_header (buf, total);

  /* An empty base. */
  total = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, "/b", NULL, 0);
  _pipecom_put_u16 (buf + 6, PIPECOM_ANNOUNCE_HEADER_SIZE);
  _pipecom_put_u16 (buf + 8, 0);
  assert_invalid_header (buf, total);
}

static void
test_announce_nul_in_base (void)
{
  guint8 buf[PIPECOM_ANNOUNCE_MAX];
  gsize total = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, "/bad", NULL, 0);
  PipecomAnnounce record;

  /* Valid as a header, but it names no file: consumed, no base. */
  buf[PIPECOM_ANNOUNCE_HEADER_SIZE + 2] = '\0';
  g_assert_cmpuint (_pipecom_announce_record_size (buf), ==, total);
  g_assert_cmpuint (_pipecom_decode_announce (buf, total, TRUE, &record), ==, total);
  g_assert_null (record.base);
}

static void
test_announce_resync (void)
{
  guint8 buf[3 * PIPECOM_ANNOUNCE_MAX];
  gsize total, len, used;
  PipecomAnnounce record;

  /* Foreign bytes, then a record: the bytes before its magic go. */
  memcpy (buf, "junkPC", 6);
  total = _pipecom_encode_announce (buf + 6, PIPECOM_ANNOUNCE_CONNECT, "/b", NULL, 0);
  len = 6 + total;
  used = _pipecom_decode_announce (buf, len, FALSE, &record);
  g_assert_cmpuint (used, ==, 6);
  g_assert_null (record.base);
  assert_decodes (buf + used, len - used, FALSE, PIPECOM_ANNOUNCE_CONNECT, "/b", NULL, 0);

  /* Foreign bytes ending in what may start a record: that tail is kept. */
  memcpy (buf, "junkPCO", 7);
  g_assert_cmpuint (_pipecom_decode_announce (buf, 7, FALSE, &record), ==, 0);   /* too short */
  memcpy (buf, "junk-junk-junkPCO", 17);
  g_assert_cmpuint (_pipecom_decode_announce (buf, 17, FALSE, &record), ==, 14);
  g_assert_null (record.base);

  /* A header whose lengths cover a complete record: the inner one wins. */
  total = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, "/xxxxxxxxxxxxxxxxxxxx", NULL, 0);
  len = _pipecom_encode_announce (buf + 14, PIPECOM_ANNOUNCE_CONNECT, "/in", NULL, 0);
  g_assert_cmpuint (14 + len, <, total);
  used = _pipecom_decode_announce (buf, total, TRUE, &record);
  g_assert_cmpuint (used, ==, 14);
  g_assert_null (record.base);
  assert_decodes (buf + 14, len, TRUE, PIPECOM_ANNOUNCE_CONNECT, "/in", NULL, 0);
}

static void
test_announce_inline_budget (void)
{
  guint8 message[PIPECOM_ANNOUNCE_MAX];
  gsize room;

  memset (message, 'x', sizeof message);

  /* At most PIPECOM_ANNOUNCE_INLINE_MAX bytes, however short the base. */
  g_assert_true (_pipecom_announce_inline_allowed (message, 0, 1));
  g_assert_true (_pipecom_announce_inline_allowed (message, PIPECOM_ANNOUNCE_INLINE_MAX, 1));
  g_assert_false (_pipecom_announce_inline_allowed (message, PIPECOM_ANNOUNCE_INLINE_MAX + 1, 1));

  /* And the record must fit with the longest base. */
  room = PIPECOM_ANNOUNCE_MAX - PIPECOM_ANNOUNCE_HEADER_SIZE - PIPECOM_ANNOUNCE_BASE_MAX;
  g_assert_true (_pipecom_announce_inline_allowed (message, room, PIPECOM_ANNOUNCE_BASE_MAX));
  g_assert_false (_pipecom_announce_inline_allowed (message, room + 1, PIPECOM_ANNOUNCE_BASE_MAX));
  g_assert_false (_pipecom_announce_inline_allowed (message, 0,
                                                    PIPECOM_ANNOUNCE_MAX - PIPECOM_ANNOUNCE_HEADER_SIZE + 1));

  /* No magic, not even one the next writer's bytes could complete. */
  g_assert_false (_pipecom_announce_inline_allowed ((const guint8 *) "aPCOMb", 6, 1));
  g_assert_false (_pipecom_announce_inline_allowed ((const guint8 *) "PCOM", 4, 1));
  g_assert_false (_pipecom_announce_inline_allowed ((const guint8 *) "abcP", 4, 1));
  g_assert_false (_pipecom_announce_inline_allowed ((const guint8 *) "abPC", 4, 1));
  g_assert_false (_pipecom_announce_inline_allowed ((const guint8 *) "aPCO", 4, 1));
  g_assert_true (_pipecom_announce_inline_allowed ((const guint8 *) "PCOX", 4, 1));
  g_assert_true (_pipecom_announce_inline_allowed ((const guint8 *) "PCOx", 4, 1));
  g_assert_true (_pipecom_announce_inline_allowed ((const guint8 *) "pcom", 4, 1));
}

/* ---- Pipe names ---- */

static void
test_name_chars (void)
{
  static const char *good[] = { "a", "my_pipe", " a ", "é", "/run/x" };
  static const char *bad[] = { "", " ", "\t \t", "a\nb", "a\x01", "\x7f", "tab\there" };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      GError *error = NULL;

      g_assert_true (_pipecom_check_name_chars (good[i], &error));
      g_assert_no_error (error);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      GError *error = NULL;

      g_assert_false (_pipecom_check_name_chars (bad[i], &error));
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE);
      g_clear_error (&error);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/codec/constants", test_constants);
  g_test_add_func ("/codec/integers", test_integers);
  g_test_add_func ("/codec/frame-header/encode", test_frame_header_encode);
  g_test_add_func ("/codec/frame-header/round-trip", test_frame_header_round_trip);
  g_test_add_func ("/codec/frame-header/truncated", test_frame_header_truncated);
  g_test_add_func ("/codec/frame-header/malformed", test_frame_header_malformed);
  g_test_add_func ("/codec/frame-header/oversize", test_frame_header_oversize);
  g_test_add_func ("/codec/frame/ack", test_frame_ack);
  g_test_add_func ("/codec/frame/reply", test_frame_reply);
  g_test_add_func ("/codec/frame/error", test_frame_error);
  g_test_add_func ("/codec/error/round-trip", test_error_payload_round_trip);
  g_test_add_func ("/codec/error/malformed", test_error_payload_malformed);
  g_test_add_func ("/codec/hello/encode", test_hello_encode);
  g_test_add_func ("/codec/hello/round-trip", test_hello_round_trip);
  g_test_add_func ("/codec/hello/malformed", test_hello_malformed);
  g_test_add_func ("/codec/announce/encode", test_announce_encode);
  g_test_add_func ("/codec/announce/round-trip", test_announce_round_trip);
  g_test_add_func ("/codec/announce/truncated", test_announce_truncated);
  g_test_add_func ("/codec/announce/wrong-version", test_announce_wrong_version);
  g_test_add_func ("/codec/announce/malformed", test_announce_malformed);
  g_test_add_func ("/codec/announce/nul-in-base", test_announce_nul_in_base);
  g_test_add_func ("/codec/announce/resync", test_announce_resync);
  g_test_add_func ("/codec/announce/inline-budget", test_announce_inline_budget);
  g_test_add_func ("/codec/names", test_name_chars);

  return g_test_run ();
}
