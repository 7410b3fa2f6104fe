/* Blob v3 validation (header, CRC, every section, record, index, shape and array) and op dispatch. */
#include <string.h>

#include "tcnn_internal.h"

static const char *const op_names[] = TCNN_OP_NAMES;
static const int32_t record_words[] = TCNN_RECORD_WORDS;

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

static const int elem_size[] = {4, 1, 1, 2, 4, 8, 4, 8};

static int64_t tensor_elems(const int32_t *t) {
  int64_t e = 1;
  for (int r = 0; r < t[T_RANK]; r++) e *= (t[T_SHAPE + r] == -1 ? 1 : t[T_SHAPE + r]);
  return e;
}

static tcnn_shape4 shape4(const int32_t *t) {
  int32_t d[6];
  tcnn_shape4 s = {1, 1, 1, 1};
  const int32_t rank = t[T_RANK];
  for (int r = 0; r < rank; r++) d[r] = t[T_SHAPE + r] == -1 ? 1 : t[T_SHAPE + r];
  if (rank == 4) { s.n = d[0]; s.h = d[1]; s.w = d[2]; s.c = d[3]; }
  else if (rank == 3) { s.n = d[0]; s.w = d[1]; s.c = d[2]; }
  else if (rank == 2) { s.n = d[0]; s.c = d[1]; }
  else if (rank == 1) { s.c = d[0]; }
  else if (rank > 4) { s.n = d[0]; s.c = (int32_t)(tensor_elems(t) / d[0]); }
  return s;
}

/* parse + validate; fills m without touching the arena */
static int parse(tcnn_model *m, const uint8_t *blob, size_t size) {
  memset(m, 0, sizeof(*m));
  if (!blob || size < TCNN_HEADER_BYTES) return TCNN_E_SIZE;
  if (memcmp(blob, "TCNN", 4)) return TCNN_E_MAGIC;
  if ((blob[4] | blob[5] << 8) != TCNN_VERSION || (blob[6] | blob[7] << 8) != TCNN_HEADER_BYTES) return TCNN_E_VERSION;
  if (rd32(blob + 8) != size) return TCNN_E_SIZE;
  if (((uintptr_t)blob) % 4) return TCNN_E_ALIGN;
  if (crc32(blob + TCNN_HEADER_BYTES, size - TCNN_HEADER_BYTES) != rd32(blob + 12)) return TCNN_E_CRC;
  const int32_t *h = (const int32_t *)blob;
  static const int32_t unit[TCNN_NUM_SECTIONS] = {4 * TCNN_TENSOR_WORDS, 4 * TCNN_OP_WORDS, 1, 4 * TCNN_ARRAY_WORDS, 4, 1, 1, 1, 1};
  for (int s = 0; s < TCNN_NUM_SECTIONS; s++) {
    const int32_t off = h[5 + 2 * s], count = h[6 + 2 * s];
    if (off < TCNN_HEADER_BYTES || off % TCNN_ALIGN || count < 0 || (uint64_t)off + (uint64_t)count * unit[s] > size)
      return TCNN_E_BOUNDS;
  }
  m->blob = blob; m->blob_size = size;
  m->tensors = (const int32_t *)(blob + h[5]); m->n_tensors = h[6];
  m->ops = (const int32_t *)(blob + h[7]); m->n_ops = h[8];
  m->records = blob + h[9];
  m->arrays = (const int32_t *)(blob + h[11]); m->n_arrays = h[12];
  m->index = (const int32_t *)(blob + h[13]); m->n_index = h[14];
  m->quant = blob + h[15];
  m->payload = blob + h[17];
  const int32_t payload_bytes = h[18], records_bytes = h[10];
  m->arena_bytes = h[23]; m->n_inputs = h[24]; m->inputs = h[25]; m->n_outputs = h[26]; m->outputs = h[27];
  if (m->n_tensors > TCNN_MAX_TENSORS || m->n_ops > TCNN_MAX_OPS || m->arena_bytes <= 0) return TCNN_E_COUNT;
  for (int32_t i = 0; i < m->n_tensors; i++) {
    const int32_t *t = tcnn_tensor(m, i);
    if (t[T_DTYPE] < 0 || t[T_DTYPE] > 7 || t[T_RANK] < 0 || t[T_RANK] > TCNN_MAX_RANK) return TCNN_E_FIELD;
    for (int r = 0; r < t[T_RANK]; r++)
      if (t[T_SHAPE + r] < -1 || t[T_SHAPE + r] == 0 || t[T_SHAPE + r] > (1 << 24)) return TCNN_E_SHAPE;
    const int64_t bytes = tensor_elems(t) * elem_size[t[T_DTYPE]];
    if (bytes > (1LL << 30) || t[T_B1BYTES] != bytes) return TCNN_E_SHAPE;
    if (t[T_FLAGS] & 1) {
      if (t[T_DATA] < 0 || t[T_DATA] % TCNN_ALIGN || t[T_BYTES] != bytes || (int64_t)t[T_DATA] + bytes > payload_bytes)
        return TCNN_E_BOUNDS;
    } else {
      if (t[T_ARENA] < 0 || t[T_ARENA] % 4 || (int64_t)t[T_ARENA] + bytes > m->arena_bytes) return TCNN_E_ARENA;
    }
  }
  for (int32_t k = 0; k < m->n_arrays; k++) {
    const int32_t *a = m->arrays + k * TCNN_ARRAY_WORDS;
    if (a[0] < 0 || a[0] % TCNN_ALIGN || a[1] < 0 || (int64_t)a[0] + a[1] > payload_bytes || a[2] < 0 || a[2] > 7)
      return TCNN_E_BOUNDS;
  }
  if (m->n_inputs <= 0 || m->n_outputs <= 0 || m->inputs < 0 || m->outputs < 0 ||
      m->inputs + m->n_inputs > m->n_index || m->outputs + m->n_outputs > m->n_index) return TCNN_E_INDEX;
  for (int32_t k = 0; k < m->n_inputs; k++) if (m->index[m->inputs + k] < 0 || m->index[m->inputs + k] >= m->n_tensors) return TCNN_E_INDEX;
  for (int32_t k = 0; k < m->n_outputs; k++) if (m->index[m->outputs + k] < 0 || m->index[m->outputs + k] >= m->n_tensors) return TCNN_E_INDEX;
  for (int32_t i = 0; i < m->n_ops; i++) {
    const int32_t *o = m->ops + i * TCNN_OP_WORDS;
    if (o[O_CODE] < 0 || o[O_CODE] >= TCNN_NUM_OP_CODES || o[O_VARIANT] < 0 || o[O_VARIANT] >= TCNN_NUM_VARIANTS) return TCNN_E_FIELD;
    if (o[O_FBYTES] != 4 * record_words[o[O_CODE]] || o[O_FIELDS] < 0 || o[O_FIELDS] % 4 ||
        (int64_t)o[O_FIELDS] + o[O_FBYTES] > records_bytes) return TCNN_E_BOUNDS;
    if (o[O_NIN] < 1 || o[O_NOUT] != 1 || o[O_IN] < 0 || o[O_OUT] < 0 ||
        o[O_IN] + o[O_NIN] > m->n_index || o[O_OUT] + 1 > m->n_index) return TCNN_E_INDEX;
    for (int k = 0; k < o[O_NIN]; k++) {
      const int32_t t = m->index[o[O_IN] + k];
      if (t < -1 || t >= m->n_tensors) return TCNN_E_INDEX;
    }
    const int32_t t_out = m->index[o[O_OUT]];
    if (t_out < 0 || t_out >= m->n_tensors || (tcnn_tensor(m, t_out)[T_FLAGS] & 1)) return TCNN_E_INDEX;
  }
  return TCNN_OK;
}

static const int32_t *record(const tcnn_model *m, int i) {
  return (const int32_t *)(m->records + m->ops[i * TCNN_OP_WORDS + O_FIELDS]);
}

static const void *tensor_data(const tcnn_model *m, int32_t t) {
  const int32_t *r = tcnn_tensor(m, t);
  return (r[T_FLAGS] & 1) ? (const void *)(m->payload + r[T_DATA]) : (const void *)(m->arena + r[T_ARENA]);
}

static tcnn_dims dims_of(const int32_t *t) {
  tcnn_dims d;
  d.rank = t[T_RANK];
  for (int r = 0; r < TCNN_MAX_RANK; r++) d.d[r] = r < d.rank ? (t[T_SHAPE + r] == -1 ? 1 : t[T_SHAPE + r]) : 1;
  return d;
}

const void *tcnn_op_input(const tcnn_model *m, int op, int k, tcnn_dims *dims, int32_t *dtype) {
  const int32_t t = m->index[m->ops[op * TCNN_OP_WORDS + O_IN] + k];
  *dims = dims_of(tcnn_tensor(m, t));
  *dtype = tcnn_tensor(m, t)[T_DTYPE];
  return tensor_data(m, t);
}

/* a broadcast operand right-aligned to the output's rank, then viewed as 4-D like the output */
static tcnn_shape4 aligned4(const int32_t *t, int32_t out_rank) {
  int32_t v[TCNN_MAX_RANK + 2] = {0};
  int32_t w[TCNN_MAX_RANK];
  const int32_t rank = t[T_RANK];
  if (rank > out_rank) return shape4(t);
  for (int r = 0; r < out_rank; r++) w[r] = 1;
  for (int r = 0; r < rank; r++) w[out_rank - rank + r] = t[T_SHAPE + r] == -1 ? 1 : t[T_SHAPE + r];
  v[T_RANK] = out_rank;
  for (int r = 0; r < out_rank; r++) v[T_SHAPE + r] = w[r];
  return shape4(v);
}

/* array k of the record, checked: dtype (or either of two dtypes) and element count */
static const void *array_ref(const tcnn_model *m, int32_t k, int32_t dtype, int32_t dtype2, int64_t count, int32_t *dt) {
  if (k < 0 || k >= m->n_arrays) return NULL;
  const int32_t *a = m->arrays + k * TCNN_ARRAY_WORDS;
  if ((a[2] != dtype && a[2] != dtype2) || (int64_t)a[1] != count * elem_size[a[2]]) return NULL;
  if (dt) *dt = a[2];
  return m->payload + a[0];
}

static int has(const int32_t *f, int bit) { return (f[0] >> bit) & 1; }
static int has_all(const int32_t *f, uint32_t bits) { return ((uint32_t)f[0] & bits) == bits; }
#define B(op, field) (1u << TCNN_##op##_##field##_BIT)

static int same_shape(const tcnn_shape4 a, const tcnn_shape4 b) { return a.n == b.n && a.h == b.h && a.w == b.w && a.c == b.c; }

/* every element of an int8/int32 array in [lo, hi] */
static int values_in(const void *arr, int32_t dt, int64_t n, int64_t lo, int64_t hi) {
  if (!arr) return 0;
  for (int64_t k = 0; k < n; k++) {
    const int64_t v = tcnn_ld(arr, dt, (size_t)k);
    if (v < lo || v > hi) return 0;
  }
  return 1;
}

static int in_range(int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; }

/* quantized output: offset and clamp limits within the output dtype */
static int output_ok(int32_t out_off, int32_t act_min, int32_t act_max, int32_t dt) {
  return in_range(out_off, -65536, 65536) && in_range(act_min, tcnn_dt_min(dt), tcnn_dt_max(dt)) &&
         in_range(act_max, act_min, tcnn_dt_max(dt));
}

/* output size of a window op along one dimension */
static int window_ok(int32_t in, int32_t out, int32_t k, int32_t s, int32_t d, int32_t p0, int32_t p1) {
  if (k < 1 || s < 1 || d < 1 || p0 < 0 || p1 < 0 || k > 4096 || s > 4096 || d > 4096 || p0 > 4096 || p1 > 4096) return 0;
  const int32_t span = in + p0 + p1 - d * (k - 1) - 1;
  return span >= 0 && out == span / s + 1;
}

static int check_weighted(const tcnn_model *m, int i, tcnn_op_args *a, int32_t code, int packed) {
  const int32_t *o = m->ops + i * TCNN_OP_WORDS;
  const int32_t *f = a->f;
  if (o[O_NIN] < 2 || !a->in[1] || o[O_NIN] > 3) return TCNN_E_FIELD;
  const int32_t *wt = tcnn_tensor(m, m->index[o[O_IN] + 1]);
  if (!(wt[T_FLAGS] & 1)) return TCNN_E_UNSUPPORTED;
  const int32_t cout = code == TCNN_OP_DEPTHWISE_CONV_2D ? wt[T_SHAPE + 2] : wt[T_SHAPE];
  if (code == TCNN_OP_FULLY_CONNECTED) {
    if (!has_all(f, B(FULLY_CONNECTED, INPUT_OFFSET) | B(FULLY_CONNECTED, OUTPUT_OFFSET) | B(FULLY_CONNECTED, ACT_MIN) |
                    B(FULLY_CONNECTED, ACT_MAX) | B(FULLY_CONNECTED, OUTPUT_MULTIPLIER) | B(FULLY_CONNECTED, OUTPUT_SHIFT)))
      return TCNN_E_FIELD;
    const tcnn_shape4 x = a->in_shape[0];
    if (wt[T_RANK] != 2 || cout != a->out_shape.c || (int64_t)x.h * x.w * x.c != wt[T_SHAPE + 1] ||
        a->out_shape.n != x.n || a->out_shape.h * a->out_shape.w != 1) return TCNN_E_SHAPE;
    a->in_shape[1] = (tcnn_shape4){1, 1, cout, wt[T_SHAPE + 1]};
  } else {
    if (!has_all(f, 0x7 | B(CONV_2D, INPUT_OFFSET)) || (!packed && !has_all(f, 0xF0 | B(CONV_2D, OUTPUT_MULTIPLIER) | B(CONV_2D, OUTPUT_SHIFT))))
      return TCNN_E_FIELD;
    if (code == TCNN_OP_DEPTHWISE_CONV_2D) {
      if (wt[T_RANK] != 3 || !has(f, TCNN_DEPTHWISE_CONV_2D_DEPTH_MULTIPLIER_BIT)) return TCNN_E_SHAPE;
      a->in_shape[1] = (tcnn_shape4){1, wt[T_SHAPE], wt[T_SHAPE + 1], cout};
      const int32_t dm = f[TCNN_DEPTHWISE_CONV_2D_DEPTH_MULTIPLIER];
      if (dm < 1 || cout != a->in_shape[0].c * dm) return TCNN_E_SHAPE;
    } else {
      if (wt[T_RANK] != 4) return TCNN_E_SHAPE;
      const int32_t g = has(f, TCNN_CONV_2D_GROUPS_BIT) ? f[TCNN_CONV_2D_GROUPS] : 1;
      if (g < 1 || cout % g || (int64_t)wt[T_SHAPE + 3] * g != a->in_shape[0].c || (packed && g != 1)) return TCNN_E_SHAPE;
      a->in_shape[1] = (tcnn_shape4){cout, wt[T_SHAPE + 1], wt[T_SHAPE + 2], wt[T_SHAPE + 3]};
    }
    const int32_t kh = a->in_shape[1].h, kw = a->in_shape[1].w;
    if (!window_ok(a->in_shape[0].h, a->out_shape.h, kh, f[1], f[3], f[5], f[7]) ||
        !window_ok(a->in_shape[0].w, a->out_shape.w, kw, f[2], f[4], f[6], f[8]) || a->out_shape.n != a->in_shape[0].n)
      return TCNN_E_SHAPE;
    if (packed ? a->out_shape.c != (cout + 31) / 32 : a->out_shape.c != cout) return TCNN_E_SHAPE;
  }
  if (!packed) {
    a->arr[0] = array_ref(m, f[TCNN_CONV_2D_OUTPUT_MULTIPLIER], TCNN_DT_INT32, TCNN_DT_INT32, cout, NULL);
    a->arr[1] = array_ref(m, f[TCNN_CONV_2D_OUTPUT_SHIFT], TCNN_DT_INT32, TCNN_DT_INT32, cout, NULL);
    if (code == TCNN_OP_FULLY_CONNECTED) {
      a->arr[0] = array_ref(m, f[TCNN_FULLY_CONNECTED_OUTPUT_MULTIPLIER], TCNN_DT_INT32, TCNN_DT_INT32, cout, NULL);
      a->arr[1] = array_ref(m, f[TCNN_FULLY_CONNECTED_OUTPUT_SHIFT], TCNN_DT_INT32, TCNN_DT_INT32, cout, NULL);
    }
    if (!a->arr[0] || !a->arr[1]) return TCNN_E_FIELD;
    const int wide = a->out_dtype == TCNN_DT_INT16;
    if (!values_in(a->arr[1], TCNN_DT_INT32, cout, -31, wide ? 14 : 31)) return TCNN_E_FIELD;
    const int32_t *q = f + (code == TCNN_OP_FULLY_CONNECTED ? TCNN_FULLY_CONNECTED_INPUT_OFFSET : TCNN_CONV_2D_INPUT_OFFSET);
    if (!in_range(q[0], -256, 256) || !output_ok(q[1], q[2], q[3], a->out_dtype)) return TCNN_E_FIELD;
    if (code != TCNN_OP_FULLY_CONNECTED && (int64_t)a->in_shape[1].h * a->in_shape[1].w * a->in_shape[1].c > (1 << 20))
      return TCNN_E_SHAPE;
  } else if (!in_range(f[TCNN_CONV_2D_INPUT_OFFSET], -65536, 65536)) {
    return TCNN_E_FIELD;
  }
  if (o[O_NIN] == 3 && a->in[2]) {
    const int32_t *bt = tcnn_tensor(m, m->index[o[O_IN] + 2]);
    if ((bt[T_DTYPE] != TCNN_DT_INT32 && bt[T_DTYPE] != TCNN_DT_INT64) || tensor_elems(bt) != cout) return TCNN_E_SHAPE;
  }
  return TCNN_OK;
}

/* resolve one op's arguments; also the per-op validation of dtypes, fields and shapes */
static int prepare(const tcnn_model *m, int i, tcnn_op_args *a) {
  const int32_t *o = m->ops + i * TCNN_OP_WORDS;
  memset(a, 0, sizeof(*a));
  a->m = m; a->op = i; a->n_in = o[O_NIN];
  a->f = record(m, i);
  const int32_t *f = a->f;
  const int32_t *to = tcnn_tensor(m, m->index[o[O_OUT]]);
  a->out = m->arena + to[T_ARENA];
  a->out_shape = shape4(to);
  a->out_dims = dims_of(to);
  a->out_dtype = to[T_DTYPE];
  for (int k = 0; k < o[O_NIN] && k < TCNN_MAX_IN; k++) {
    const int32_t t = m->index[o[O_IN] + k];
    if (t < 0) continue;
    a->in[k] = tensor_data(m, t);
    a->in_shape[k] = shape4(tcnn_tensor(m, t));
    a->in_dims[k] = dims_of(tcnn_tensor(m, t));
    a->in_dtype[k] = tcnn_tensor(m, t)[T_DTYPE];
  }
  if (!a->in[0]) return TCNN_E_INDEX;
  const int32_t code = o[O_CODE], variant = o[O_VARIANT], dt_in = a->in_dtype[0], dt = a->out_dtype;
  const int s8 = dt_in == TCNN_DT_INT8 && dt == TCNN_DT_INT8 && variant == TCNN_VARIANT_NONE;
  const int s16 = dt_in == TCNN_DT_INT16 && dt == TCNN_DT_INT16;
  const int u8 = dt_in == TCNN_DT_INT8 && dt == TCNN_DT_INT8 && variant == TCNN_VARIANT_UINT8;  /* legacy uint8 */
  const int64_t n_in_elems = tensor_elems(tcnn_tensor(m, m->index[o[O_IN]])), n_out_elems = tensor_elems(to);
  switch (code) {
  case TCNN_OP_CONV_2D:
  case TCNN_OP_DEPTHWISE_CONV_2D:
  case TCNN_OP_FULLY_CONNECTED: {
    const int packed = code == TCNN_OP_CONV_2D && has(f, TCNN_CONV_2D_OUTPUT_MODE_BIT) &&
                       f[TCNN_CONV_2D_OUTPUT_MODE] == TCNN_OUTPUT_MODE_PACKED;
    const int32_t wdt = tcnn_tensor(m, m->index[o[O_IN] + (o[O_NIN] > 1 ? 1 : 0)])[T_DTYPE];
    if (packed) {
      if (variant || dt != TCNN_DT_UINT32 || (dt_in != TCNN_DT_INT8 && dt_in != TCNN_DT_INT16) ||
          (wdt != TCNN_DT_INT8 && wdt != TCNN_DT_INT16)) return TCNN_E_UNSUPPORTED;
    } else if (!((s8 && (wdt == TCNN_DT_INT8 || wdt == TCNN_DT_INT16)) || (s16 && variant == TCNN_VARIANT_INT16X8 && wdt == TCNN_DT_INT8) ||
                 (u8 && wdt == TCNN_DT_INT8))) {
      return TCNN_E_UNSUPPORTED;
    }
    if (u8) {  /* weight_offset = 128 - zero point, zero point in [0, 255] */
      const int wo = code == TCNN_OP_CONV_2D ? TCNN_CONV_2D_WEIGHT_OFFSET : (code == TCNN_OP_FULLY_CONNECTED ? TCNN_FULLY_CONNECTED_WEIGHT_OFFSET : TCNN_DEPTHWISE_CONV_2D_WEIGHT_OFFSET);
      const int wb = code == TCNN_OP_CONV_2D ? TCNN_CONV_2D_WEIGHT_OFFSET_BIT : (code == TCNN_OP_FULLY_CONNECTED ? TCNN_FULLY_CONNECTED_WEIGHT_OFFSET_BIT : TCNN_DEPTHWISE_CONV_2D_WEIGHT_OFFSET_BIT);
      if (!has(f, wb) || !in_range(f[wo], -127, 128)) return TCNN_E_FIELD;
    }
    if (o[O_NIN] > 1) a->in_dtype[1] = wdt;
    int err = check_weighted(m, i, a, code, packed);
    if (err) return err;
    if (s16 && f[code == TCNN_OP_FULLY_CONNECTED ? TCNN_FULLY_CONNECTED_INPUT_OFFSET : TCNN_CONV_2D_INPUT_OFFSET] != 0)
      return TCNN_E_FIELD;
    if (code != TCNN_OP_FULLY_CONNECTED && !packed && code == TCNN_OP_CONV_2D && !has(f, TCNN_CONV_2D_GROUPS_BIT))
      return TCNN_E_FIELD;
    break;
  }
  case TCNN_OP_MAX_POOL_2D:
  case TCNN_OP_AVERAGE_POOL_2D:
    if (!(s8 || (s16 && variant == TCNN_VARIANT_NONE) || (u8 && code == TCNN_OP_AVERAGE_POOL_2D))) return TCNN_E_UNSUPPORTED;
    if (!has_all(f, 0x1F)) return TCNN_E_FIELD;
    if (!window_ok(a->in_shape[0].h, a->out_shape.h, f[1], f[3], 1, f[5], f[7]) ||
        !window_ok(a->in_shape[0].w, a->out_shape.w, f[2], f[4], 1, f[6], f[8]) ||
        a->out_shape.c != a->in_shape[0].c || a->out_shape.n != a->in_shape[0].n) return TCNN_E_SHAPE;
    if (!output_ok(0, f[TCNN_MAX_POOL_2D_ACT_MIN], f[TCNN_MAX_POOL_2D_ACT_MAX], dt)) return TCNN_E_FIELD;
    break;
  case TCNN_OP_MEAN:
    if (!(s8 || (s16 && variant == TCNN_VARIANT_INT16X8))) return TCNN_E_UNSUPPORTED;
    if (!has_all(f, B(MEAN, INPUT_OFFSET) | B(MEAN, OUTPUT_OFFSET) | B(MEAN, OUTPUT_MULTIPLIER) | B(MEAN, OUTPUT_SHIFT)))
      return TCNN_E_FIELD;
    if (a->in_dims[0].rank != 4 || a->out_shape.c != a->in_shape[0].c ||
        n_out_elems != (int64_t)a->in_shape[0].n * a->in_shape[0].c) return TCNN_E_SHAPE;
    if (!in_range(f[TCNN_MEAN_OUTPUT_SHIFT], -31, 31) || !in_range(f[TCNN_MEAN_INPUT_OFFSET], -65536, 65536)) return TCNN_E_FIELD;
    break;
  case TCNN_OP_ADD:
  case TCNN_OP_SUB:
  case TCNN_OP_MUL:
  case TCNN_OP_PRELU: {
    const int ok = code == TCNN_OP_ADD || code == TCNN_OP_SUB ? (s8 || (s16 && variant == TCNN_VARIANT_INT16X8)) : s8;
    if (!ok || o[O_NIN] != 2 || !a->in[1] || a->in_dtype[1] != dt_in) return TCNN_E_UNSUPPORTED;
    const uint32_t need = code == TCNN_OP_MUL ? 0x7Fu : (code == TCNN_OP_PRELU ? 0x7Fu : 0xFFFu);
    if (!has_all(f, need)) return TCNN_E_FIELD;
    if (code == TCNN_OP_ADD || code == TCNN_OP_SUB) {
      if (!in_range(f[TCNN_ADD_LEFT_SHIFT], 0, 20) || !in_range(f[TCNN_ADD_INPUT1_SHIFT], -31, 31) ||
          !in_range(f[TCNN_ADD_INPUT2_SHIFT], -31, 31) || !in_range(f[TCNN_ADD_OUTPUT_SHIFT], -31, 31) ||
          !in_range(f[TCNN_ADD_INPUT1_OFFSET], -65536, 65536) || !in_range(f[TCNN_ADD_INPUT2_OFFSET], -65536, 65536) ||
          !output_ok(f[TCNN_ADD_OUTPUT_OFFSET], f[TCNN_ADD_ACT_MIN], f[TCNN_ADD_ACT_MAX], dt)) return TCNN_E_FIELD;
    } else if (code == TCNN_OP_MUL) {
      if (!in_range(f[TCNN_MUL_OUTPUT_SHIFT], -31, 31) || !in_range(f[TCNN_MUL_INPUT1_OFFSET], -65536, 65536) ||
          !in_range(f[TCNN_MUL_INPUT2_OFFSET], -65536, 65536) ||
          !output_ok(f[TCNN_MUL_OUTPUT_OFFSET], f[TCNN_MUL_ACT_MIN], f[TCNN_MUL_ACT_MAX], dt)) return TCNN_E_FIELD;
    } else if (!in_range(f[TCNN_PRELU_OUTPUT_SHIFT_1], -31, 31) || !in_range(f[TCNN_PRELU_OUTPUT_SHIFT_2], -31, 31) ||
               !in_range(f[TCNN_PRELU_INPUT_OFFSET], -65536, 65536) || !in_range(f[TCNN_PRELU_ALPHA_OFFSET], -65536, 65536)) {
      return TCNN_E_FIELD;
    }
    for (int k = 0; k < 2; k++) {
      const int32_t *tk = tcnn_tensor(m, m->index[o[O_IN] + k]);
      if (tk[T_RANK] > a->out_dims.rank) return TCNN_E_SHAPE;
      a->in_shape[k] = aligned4(tk, a->out_dims.rank);
      /* every aligned dim equals the output's or is 1 */
      for (int r = 0; r < tk[T_RANK]; r++) {
        const int32_t dk = tk[T_SHAPE + r] == -1 ? 1 : tk[T_SHAPE + r];
        const int32_t dout = a->out_dims.d[a->out_dims.rank - tk[T_RANK] + r];
        if (dk != dout && dk != 1) return TCNN_E_SHAPE;
      }
    }
    break;
  }
  case TCNN_OP_REQUANTIZE:
    if (!((dt_in == TCNN_DT_INT8 || dt_in == TCNN_DT_INT16) && (dt == TCNN_DT_INT8 || dt == TCNN_DT_INT16))) return TCNN_E_UNSUPPORTED;
    if (!has_all(f, 0xF) || !in_range(f[TCNN_REQUANTIZE_OUTPUT_SHIFT], -31, 31) ||
        !in_range(f[TCNN_REQUANTIZE_INPUT_OFFSET], -65536, 65536)) return TCNN_E_FIELD;
    if (n_in_elems != n_out_elems) return TCNN_E_SHAPE;
    break;
  case TCNN_OP_RESHAPE:
    if (dt_in != dt || n_in_elems != n_out_elems) return TCNN_E_SHAPE;
    break;
  case TCNN_OP_LUT:
    if (!s8) return TCNN_E_UNSUPPORTED;
    if (!has(f, TCNN_LUT_LUT_BIT) || n_in_elems != n_out_elems) return TCNN_E_FIELD;
    if (!(a->arr[0] = array_ref(m, f[TCNN_LUT_LUT], TCNN_DT_INT8, TCNN_DT_INT8, 256, NULL))) return TCNN_E_FIELD;
    break;
  case TCNN_OP_SOFTMAX:
    if (!(dt_in == TCNN_DT_INT8 && dt == TCNN_DT_INT8) || n_in_elems != n_out_elems) return TCNN_E_UNSUPPORTED;
    if (variant == TCNN_VARIANT_NONE) {
      if (!(a->arr[0] = array_ref(m, f[TCNN_SOFTMAX_EXP_TABLE], TCNN_DT_INT32, TCNN_DT_INT32, 256, NULL)) ||
          !has(f, TCNN_SOFTMAX_EXP_TABLE_BIT) || !values_in(a->arr[0], TCNN_DT_INT32, 256, 0, 1 << 30) ||
          ((const int32_t *)a->arr[0])[0] <= 0) return TCNN_E_FIELD;  /* the row maximum's e > 0: no division by 0 */
    } else if (variant == TCNN_VARIANT_TFLM) {
      if (!has_all(f, B(SOFTMAX, EXP_Q0) | B(SOFTMAX, EXP_ACC)) ||
          !(a->arr[1] = array_ref(m, f[TCNN_SOFTMAX_EXP_Q0], TCNN_DT_INT32, TCNN_DT_INT32, 256, NULL)) ||
          !(a->arr[2] = array_ref(m, f[TCNN_SOFTMAX_EXP_ACC], TCNN_DT_INT32, TCNN_DT_INT32, 256, NULL))) return TCNN_E_FIELD;
    } else {
      return TCNN_E_UNSUPPORTED;
    }
    break;
  case TCNN_OP_CONCATENATION: {
    if (!(s8 || (s16 && variant == TCNN_VARIANT_INT16X8))) return TCNN_E_UNSUPPORTED;
    if (!has_all(f, B(CONCATENATION, AXIS) | B(CONCATENATION, OUTPUT_OFFSET) | B(CONCATENATION, REQUANT)) || o[O_NIN] < 1)
      return TCNN_E_FIELD;
    int32_t axis = f[TCNN_CONCATENATION_AXIS];
    if (axis < 0) axis += a->out_dims.rank;
    if (axis < 0 || axis >= a->out_dims.rank) return TCNN_E_FIELD;
    if (!(a->arr[0] = array_ref(m, f[TCNN_CONCATENATION_REQUANT], TCNN_DT_INT32, TCNN_DT_INT32, 3 * (int64_t)o[O_NIN], NULL)))
      return TCNN_E_FIELD;
    for (int k = 0; k < o[O_NIN]; k++) {
      const int32_t *row = (const int32_t *)a->arr[0] + 3 * k;
      if (!in_range(row[0], -65536, 65536) || !in_range(row[2], -31, 31)) return TCNN_E_FIELD;
    }
    if (!in_range(f[TCNN_CONCATENATION_OUTPUT_OFFSET], -65536, 65536)) return TCNN_E_FIELD;
    int64_t along = 0;
    for (int k = 0; k < o[O_NIN]; k++) {
      const int32_t t = m->index[o[O_IN] + k];
      if (t < 0) return TCNN_E_INDEX;
      const tcnn_dims d = dims_of(tcnn_tensor(m, t));
      if (tcnn_tensor(m, t)[T_DTYPE] != dt || d.rank != a->out_dims.rank) return TCNN_E_SHAPE;
      for (int r = 0; r < d.rank; r++) if (r != axis && d.d[r] != a->out_dims.d[r]) return TCNN_E_SHAPE;
      along += d.d[axis];
    }
    if (along != a->out_dims.d[axis]) return TCNN_E_SHAPE;
    break;
  }
  case TCNN_OP_PAD: {
    if (!(s8 || (s16 && variant == TCNN_VARIANT_NONE))) return TCNN_E_UNSUPPORTED;
    if (!has_all(f, B(PAD, PADS) | B(PAD, PAD_VALUE_Q))) return TCNN_E_FIELD;
    const int32_t *pads = f + TCNN_PAD_PADS;
    if (pads[0] != a->in_dims[0].rank || a->in_dims[0].rank != a->out_dims.rank) return TCNN_E_FIELD;
    for (int r = 0; r < pads[0]; r++)
      if (pads[1 + 2 * r] < 0 || pads[2 + 2 * r] < 0 || a->in_dims[0].d[r] + pads[1 + 2 * r] + pads[2 + 2 * r] != a->out_dims.d[r])
        return TCNN_E_SHAPE;
    break;
  }
  case TCNN_OP_TRANSPOSE: {
    if (dt_in != dt || (dt != TCNN_DT_INT8 && dt != TCNN_DT_INT16) || variant) return TCNN_E_UNSUPPORTED;
    const int32_t *perm = f + TCNN_TRANSPOSE_PERM;
    if (!has(f, TCNN_TRANSPOSE_PERM_BIT) || perm[0] != a->out_dims.rank || a->in_dims[0].rank != perm[0]) return TCNN_E_FIELD;
    int seen = 0;
    for (int r = 0; r < perm[0]; r++) {
      if (perm[1 + r] < 0 || perm[1 + r] >= perm[0] || (seen >> perm[1 + r] & 1)) return TCNN_E_FIELD;
      seen |= 1 << perm[1 + r];
      if (a->out_dims.d[r] != a->in_dims[0].d[perm[1 + r]]) return TCNN_E_SHAPE;
    }
    break;
  }
  case TCNN_OP_RESIZE_NEAREST: {
    if (!(s8 || (s16 && variant == TCNN_VARIANT_NONE))) return TCNN_E_UNSUPPORTED;
    const int32_t fh = f[TCNN_RESIZE_NEAREST_SCALE], fw = f[TCNN_RESIZE_NEAREST_SCALE + 1];
    if (!has(f, TCNN_RESIZE_NEAREST_SCALE_BIT) || fh < 1 || fw < 1 || a->in_dims[0].rank != 4) return TCNN_E_FIELD;
    const tcnn_shape4 s = a->in_shape[0];
    if (!same_shape(a->out_shape, (tcnn_shape4){s.n, s.h * fh, s.w * fw, s.c})) return TCNN_E_SHAPE;
    break;
  }
  case TCNN_OP_BINARIZE:
    if (dt_in != TCNN_DT_INT8 || dt != TCNN_DT_UINT32 || variant) return TCNN_E_UNSUPPORTED;
    if (!has(f, TCNN_BINARIZE_INPUT_ZERO_POINT_BIT)) return TCNN_E_FIELD;
    if (a->out_shape.c != (a->in_shape[0].c + 31) / 32 || a->out_shape.n * a->out_shape.h * a->out_shape.w !=
        a->in_shape[0].n * a->in_shape[0].h * a->in_shape[0].w) return TCNN_E_SHAPE;
    break;
  case TCNN_OP_BINARY_MAX_POOL_2D:
    if (dt_in != TCNN_DT_UINT32 || dt != TCNN_DT_UINT32 || variant) return TCNN_E_UNSUPPORTED;
    if (!has_all(f, 0x7 | B(BINARY_MAX_POOL_2D, CHANNELS))) return TCNN_E_FIELD;
    if (!window_ok(a->in_shape[0].h, a->out_shape.h, f[1], f[3], 1, f[5], f[7]) ||
        !window_ok(a->in_shape[0].w, a->out_shape.w, f[2], f[4], 1, f[6], f[8]) ||
        a->out_shape.c != a->in_shape[0].c || (f[TCNN_BINARY_MAX_POOL_2D_CHANNELS] + 31) / 32 != a->out_shape.c)
      return TCNN_E_SHAPE;
    break;
  case TCNN_OP_BINARY_CONV_2D:
  case TCNN_OP_BINARY_FULLY_CONNECTED: {
    const int conv = code == TCNN_OP_BINARY_CONV_2D;
    const int32_t *g = f + (conv ? TCNN_BINARY_CONV_2D_IN_CHANNELS - TCNN_BINARY_FULLY_CONNECTED_IN_CHANNELS : 0);
    const uint32_t base = conv ? 8u : 0u;  /* the conv layout has stride, dilation, pad first */
    if (dt_in != TCNN_DT_UINT32 || variant || o[O_NIN] != 2 || !a->in[1]) return TCNN_E_UNSUPPORTED;
    const int32_t *wt = tcnn_tensor(m, m->index[o[O_IN] + 1]);
    if (wt[T_DTYPE] != TCNN_DT_UINT32 || !(wt[T_FLAGS] & 1)) return TCNN_E_UNSUPPORTED;
    const uint32_t core = (1u << (TCNN_BINARY_FULLY_CONNECTED_IN_CHANNELS_BIT)) | (1u << TCNN_BINARY_FULLY_CONNECTED_OUTPUT_MODE_BIT);
    if (!has_all(f, core << (conv ? (TCNN_BINARY_CONV_2D_IN_CHANNELS_BIT - TCNN_BINARY_FULLY_CONNECTED_IN_CHANNELS_BIT) : 0)))
      return TCNN_E_FIELD;
    (void)base;
    const int32_t mode = g[TCNN_BINARY_FULLY_CONNECTED_OUTPUT_MODE], cin = g[TCNN_BINARY_FULLY_CONNECTED_IN_CHANNELS];
    const int32_t cout = wt[T_SHAPE];
    if (cin < 1 || cout < 1 || cout > 4096) return TCNN_E_SHAPE;
    if (conv) {
      if (!has_all(f, 0x7) || wt[T_RANK] != 4 || wt[T_SHAPE + 3] != (cin + 31) / 32 || a->in_shape[0].c != wt[T_SHAPE + 3]) return TCNN_E_SHAPE;
      a->in_shape[1] = (tcnn_shape4){cout, wt[T_SHAPE + 1], wt[T_SHAPE + 2], wt[T_SHAPE + 3]};
      if (!window_ok(a->in_shape[0].h, a->out_shape.h, wt[T_SHAPE + 1], f[1], f[3], f[5], f[7]) ||
          !window_ok(a->in_shape[0].w, a->out_shape.w, wt[T_SHAPE + 2], f[2], f[4], f[6], f[8])) return TCNN_E_SHAPE;
      if (!has(f, TCNN_BINARY_CONV_2D_PAD_MODE_BIT)) return TCNN_E_FIELD;
    } else {
      const int32_t pixels = has(f, TCNN_BINARY_FULLY_CONNECTED_IN_PIXELS_BIT) ? f[TCNN_BINARY_FULLY_CONNECTED_IN_PIXELS] : 0;
      if (wt[T_RANK] != 2 || pixels < 1 || (int64_t)pixels * ((cin + 31) / 32) != wt[T_SHAPE + 1] ||
          n_in_elems != (int64_t)a->out_shape.n * wt[T_SHAPE + 1]) return TCNN_E_SHAPE;
      a->in_shape[1] = (tcnn_shape4){1, 1, cout, wt[T_SHAPE + 1]};
    }
    const int32_t delta = (int32_t)(g - f);
    if (mode == TCNN_OUTPUT_MODE_PACKED) {
      if (dt != TCNN_DT_UINT32 || a->out_shape.c != (cout + 31) / 32) return TCNN_E_SHAPE;
      if (!(a->arr[0] = array_ref(m, g[TCNN_BINARY_FULLY_CONNECTED_THRESHOLD], TCNN_DT_INT16, TCNN_DT_INT32, cout, &a->arr_dtype[0])))
        return TCNN_E_FIELD;
    } else if (mode == TCNN_OUTPUT_MODE_INT8) {
      const uint32_t need = (1u << TCNN_BINARY_FULLY_CONNECTED_OUTPUT_ZERO_POINT_BIT) | (1u << TCNN_BINARY_FULLY_CONNECTED_ACT_MIN_BIT) |
                            (1u << TCNN_BINARY_FULLY_CONNECTED_ACT_MAX_BIT) | (1u << TCNN_BINARY_FULLY_CONNECTED_DOT_SHIFT_BIT);
      if (!has_all(f, need << (conv ? (TCNN_BINARY_CONV_2D_IN_CHANNELS_BIT - TCNN_BINARY_FULLY_CONNECTED_IN_CHANNELS_BIT) : 0)))
        return TCNN_E_FIELD;
      if (dt != TCNN_DT_INT8 || a->out_shape.c != cout) return TCNN_E_SHAPE;
      if (g[TCNN_BINARY_FULLY_CONNECTED_DOT_SHIFT] < 0 || g[TCNN_BINARY_FULLY_CONNECTED_DOT_SHIFT] > 16) return TCNN_E_FIELD;
      a->arr[1] = array_ref(m, g[TCNN_BINARY_FULLY_CONNECTED_OUTPUT_MULTIPLIER], TCNN_DT_INT32, TCNN_DT_INT32, cout, NULL);
      a->arr[2] = array_ref(m, g[TCNN_BINARY_FULLY_CONNECTED_OUTPUT_SHIFT], TCNN_DT_INT8, TCNN_DT_INT32, cout, &a->arr_dtype[2]);
      a->arr[3] = array_ref(m, g[TCNN_BINARY_FULLY_CONNECTED_BIAS_Q], TCNN_DT_INT32, TCNN_DT_INT32, cout, NULL);
      if (!a->arr[1] || !a->arr[2] || !a->arr[3] || !values_in(a->arr[2], a->arr_dtype[2], cout, -31, 31) ||
          !output_ok(g[TCNN_BINARY_FULLY_CONNECTED_OUTPUT_ZERO_POINT], g[TCNN_BINARY_FULLY_CONNECTED_ACT_MIN],
                     g[TCNN_BINARY_FULLY_CONNECTED_ACT_MAX], TCNN_DT_INT8)) return TCNN_E_FIELD;
    } else {
      return TCNN_E_UNSUPPORTED;
    }
    (void)delta;
    break;
  }
  default:
    return tcnn_seg_prepare(m, a, code, variant);  /* kernels/tcnn_seg.c; refuses the rest */
  }
  return TCNN_OK;
}

/* Kernel scratch of op i (the same on every target, so one arena size fits all builds):
 * int8 CONV_2D with int8 weights and one group: two int16 im2col columns (4 K bytes);
 * int8 FULLY_CONNECTED with int8 weights: one int16 column (2 K bytes). */
static size_t op_scratch(const tcnn_model *m, int i) {
  const int32_t *o = m->ops + i * TCNN_OP_WORDS;
  if ((o[O_CODE] != TCNN_OP_CONV_2D && o[O_CODE] != TCNN_OP_FULLY_CONNECTED) || o[O_NIN] < 2 || o[O_VARIANT]) return 0;
  const int32_t tx = m->index[o[O_IN]], tw = m->index[o[O_IN] + 1], ty = m->index[o[O_OUT]];
  if (tx < 0 || tw < 0) return 0;
  const int32_t *x = tcnn_tensor(m, tx), *w = tcnn_tensor(m, tw), *y = tcnn_tensor(m, ty);
  if (x[T_DTYPE] != TCNN_DT_INT8 || w[T_DTYPE] != TCNN_DT_INT8 || y[T_DTYPE] != TCNN_DT_INT8) return 0;
  const int64_t k = w[T_RANK] >= 2 ? tensor_elems(w) / w[T_SHAPE] : 0;
  if (o[O_CODE] == TCNN_OP_FULLY_CONNECTED) return (size_t)(2 * k);
  const int32_t *f = record(m, i);
  if (has(f, TCNN_CONV_2D_GROUPS_BIT) && f[TCNN_CONV_2D_GROUPS] != 1) return 0;
  return (size_t)(4 * k);
}

static size_t scratch_bytes(const tcnn_model *m) {
  size_t s = 0;
  for (int i = 0; i < m->n_ops; i++) if (op_scratch(m, i) > s) s = op_scratch(m, i);
  return (s + 15) & ~(size_t)15;
}

static size_t arena_total(const tcnn_model *m) { return (((size_t)m->arena_bytes + 15) & ~(size_t)15) + m->scratch_bytes; }

size_t tcnn_arena_required(const uint8_t *blob, size_t blob_size) {
  tcnn_model m;
  if (parse(&m, blob, blob_size) != TCNN_OK) return 0;
  m.scratch_bytes = scratch_bytes(&m);
  return arena_total(&m);
}

int tcnn_init(tcnn_model *m, const uint8_t *blob, size_t blob_size, uint8_t *arena, size_t arena_size) {
  int err = parse(m, blob, blob_size);
  if (err) return err;
  m->scratch_bytes = scratch_bytes(m);
  if (!arena || arena_size < arena_total(m) || ((uintptr_t)arena) % 4) return TCNN_E_ARENA;
  m->arena = arena; m->arena_size = arena_size;
  m->scratch = (int16_t *)(arena + (((size_t)m->arena_bytes + 15) & ~(size_t)15));
  for (int i = 0; i < m->n_ops; i++) {
    tcnn_op_args a;
    if ((err = prepare(m, i, &a)) != TCNN_OK) return err;
  }
  return TCNN_OK;
}

const char *tcnn_strerror(int err) {
  switch (err) {
  case TCNN_OK: return "ok";
  case TCNN_E_SIZE: return "blob size does not match its header";
  case TCNN_E_MAGIC: return "not a tinycnn blob";
  case TCNN_E_VERSION: return "unsupported blob format version (convert the model again)";
  case TCNN_E_CRC: return "checksum mismatch: the blob is corrupt";
  case TCNN_E_BOUNDS: return "a section, record or array lies outside the blob";
  case TCNN_E_COUNT: return "too many tensors or ops, or no arena plan (float32 blobs run on the host only)";
  case TCNN_E_SHAPE: return "a tensor shape is inconsistent with its op";
  case TCNN_E_INDEX: return "a tensor index is out of range";
  case TCNN_E_FIELD: return "an op record lacks a field or has an invalid value";
  case TCNN_E_UNSUPPORTED: return "an op, dtype or kernel variant this C runtime does not run";
  case TCNN_E_ARENA: return "the arena is too small or misaligned";
  case TCNN_E_ALIGN: return "the blob is not 4-byte aligned";
  default: return "unknown error";
  }
}

int tcnn_num_inputs(const tcnn_model *m) { return m->n_inputs; }
int tcnn_num_outputs(const tcnn_model *m) { return m->n_outputs; }

void *tcnn_input(tcnn_model *m, int i, size_t *nbytes) {
  if (i < 0 || i >= m->n_inputs) return NULL;
  const int32_t *t = tcnn_tensor(m, m->index[m->inputs + i]);
  if (nbytes) *nbytes = (size_t)t[T_B1BYTES];
  return m->arena + t[T_ARENA];
}

const void *tcnn_output(const tcnn_model *m, int i, size_t *nbytes) {
  if (i < 0 || i >= m->n_outputs) return NULL;
  const int32_t *t = tcnn_tensor(m, m->index[m->outputs + i]);
  if (nbytes) *nbytes = (size_t)t[T_B1BYTES];
  return tensor_data(m, m->index[m->outputs + i]);
}

int tcnn_input_dtype(const tcnn_model *m, int i) {
  return (i < 0 || i >= m->n_inputs) ? -1 : tcnn_tensor(m, m->index[m->inputs + i])[T_DTYPE];
}
int tcnn_output_dtype(const tcnn_model *m, int i) {
  return (i < 0 || i >= m->n_outputs) ? -1 : tcnn_tensor(m, m->index[m->outputs + i])[T_DTYPE];
}

int tcnn_invoke(tcnn_model *m, tcnn_layer_hook hook, void *ctx) {
  for (int i = 0; i < m->n_ops; i++) {
    tcnn_op_args a;
    int err = prepare(m, i, &a);
    if (err) return err;
    const int32_t *to = tcnn_tensor(m, m->index[m->ops[i * TCNN_OP_WORDS + O_OUT]]);
    const size_t top = (size_t)to[T_ARENA] + (size_t)to[T_B1BYTES];
    if (top > m->high_water) m->high_water = top;
    if (hook) hook(ctx, i, 0);
    const int32_t code = m->ops[i * TCNN_OP_WORDS + O_CODE];
    const int s16 = a.out_dtype == TCNN_DT_INT16, w16 = a.in_dtype[1] == TCNN_DT_INT16;
    const int u8 = m->ops[i * TCNN_OP_WORDS + O_VARIANT] == TCNN_VARIANT_UINT8;  /* legacy uint8 (tcnn_u8.c) */
    switch (code) {
    case TCNN_OP_CONV_2D:
      if (u8) err = tcnn_conv_s8_u8(&a);
      else if (a.out_dtype == TCNN_DT_UINT32) err = tcnn_conv_to_packed(&a);
      else if (s16) err = tcnn_conv_s8_s16(&a);
      else if (w16) err = tcnn_conv_s8_w16(&a);
#if defined(__ARM_FEATURE_MVE)
      else if (op_scratch(m, i)) err = tcnn_conv_s8_mve(&a, m->scratch);
#endif
#if defined(__ARM_FEATURE_DSP)
      else if (op_scratch(m, i)) err = tcnn_conv_s8_dsp(&a, m->scratch);
#endif
      else err = tcnn_conv_s8(&a);
      break;
    case TCNN_OP_DEPTHWISE_CONV_2D:
      if (u8) err = tcnn_depthwise_s8_u8(&a);
      else if (s16) err = tcnn_depthwise_s8_s16(&a);
      else if (w16) err = tcnn_depthwise_s8_w16(&a);
#if defined(__ARM_FEATURE_MVE)
      else if (a.f[TCNN_DEPTHWISE_CONV_2D_DEPTH_MULTIPLIER] == 1) err = tcnn_depthwise_s8_mve(&a);
#endif
#if defined(__ARM_FEATURE_DSP)
      else if (a.f[TCNN_DEPTHWISE_CONV_2D_DEPTH_MULTIPLIER] == 1) err = tcnn_depthwise_s8_dsp(&a);
#endif
      else err = tcnn_depthwise_s8(&a);
      break;
    case TCNN_OP_FULLY_CONNECTED:
      if (u8) err = tcnn_fc_s8_u8(&a);
      else if (s16) err = tcnn_fc_s8_s16(&a);
      else if (w16) err = tcnn_fc_s8_w16(&a);
#if defined(__ARM_FEATURE_MVE)
      else if (op_scratch(m, i)) err = tcnn_fc_s8_mve(&a);
#endif
#if defined(__ARM_FEATURE_DSP)
      else if (op_scratch(m, i)) err = tcnn_fc_s8_dsp(&a, m->scratch);
#endif
      else err = tcnn_fc_s8(&a);
      break;
    case TCNN_OP_MAX_POOL_2D: err = tcnn_pool(&a, 1); break;
    case TCNN_OP_AVERAGE_POOL_2D: err = u8 ? tcnn_avg_pool_u8(&a) : tcnn_pool(&a, 0); break;
    case TCNN_OP_MEAN: err = tcnn_mean(&a); break;
    case TCNN_OP_ADD: err = tcnn_add_sub(&a, 1); break;
    case TCNN_OP_SUB: err = tcnn_add_sub(&a, -1); break;
    case TCNN_OP_MUL: err = tcnn_mul(&a); break;
    case TCNN_OP_PRELU: err = tcnn_prelu_s8(&a); break;
    case TCNN_OP_REQUANTIZE: err = tcnn_requantize(&a); break;
    case TCNN_OP_LUT: err = tcnn_lut_s8(&a); break;
    case TCNN_OP_SOFTMAX:
      err = m->ops[i * TCNN_OP_WORDS + O_VARIANT] == TCNN_VARIANT_TFLM ? tcnn_softmax_tflm_s8(&a) : tcnn_softmax_s8(&a);
      break;
    case TCNN_OP_CONCATENATION: err = tcnn_concat(&a); break;
    case TCNN_OP_PAD: err = tcnn_pad(&a); break;
    case TCNN_OP_TRANSPOSE: err = tcnn_transpose(&a); break;
    case TCNN_OP_RESIZE_NEAREST: err = tcnn_resize_nearest(&a); break;
    case TCNN_OP_BINARIZE: err = tcnn_binarize(&a); break;
    case TCNN_OP_BINARY_CONV_2D: err = tcnn_binary_conv(&a); break;
    case TCNN_OP_BINARY_FULLY_CONNECTED: err = tcnn_binary_fc(&a); break;
    case TCNN_OP_BINARY_MAX_POOL_2D: err = tcnn_binary_max_pool(&a); break;
    case TCNN_OP_RESHAPE:
      if (a.out != a.in[0]) memmove(a.out, a.in[0], (size_t)to[T_B1BYTES]);
      break;
    default: err = tcnn_seg_run(&a, code);
    }
#if defined(__ARM_FEATURE_DSP)
    if (op_scratch(m, i)) {
      const size_t scratch_top = (size_t)((uint8_t *)m->scratch - m->arena) + op_scratch(m, i);
      if (scratch_top > m->high_water) m->high_water = scratch_top;
    }
#endif
    if (hook) hook(ctx, i, 1);
    if (err) return err;
  }
  for (int k = 0; k < m->n_inputs; k++) {
    const int32_t *t = tcnn_tensor(m, m->index[m->inputs + k]);
    const size_t top = (size_t)t[T_ARENA] + (size_t)t[T_B1BYTES];
    if (top > m->high_water) m->high_water = top;
  }
  return TCNN_OK;
}

int tcnn_num_ops(const tcnn_model *m) { return m->n_ops; }
const char *tcnn_op_type_name(int op_code) { return (op_code >= 0 && op_code < TCNN_NUM_OP_CODES) ? op_names[op_code] : "?"; }
int tcnn_op_code(const tcnn_model *m, int i) { return (i >= 0 && i < m->n_ops) ? m->ops[i * TCNN_OP_WORDS + O_CODE] : -1; }
/* debug section: JSON, NUL, then one NUL-terminated name per op; "" when stripped or malformed */
const char *tcnn_op_name(const tcnn_model *m, int i) {
  const int32_t *h = (const int32_t *)m->blob;
  const int32_t off = h[5 + 2 * TCNN_SEC_DEBUG], size = h[6 + 2 * TCNN_SEC_DEBUG];
  if (i < 0 || i >= m->n_ops || size <= 0) return "";
  const char *p = (const char *)m->blob + off, *end = p + size;
  while (p < end && *p) p++;  /* skip the JSON document */
  for (int k = 0; p < end; k++) {
    const char *name = ++p;
    while (p < end && *p) p++;
    if (p >= end) return "";  /* unterminated */
    if (k == i) return name;
  }
  return "";
}
uint32_t tcnn_op_macs(const tcnn_model *m, int i) { return (i >= 0 && i < m->n_ops) ? (uint32_t)m->ops[i * TCNN_OP_WORDS + O_MACS] : 0; }
size_t tcnn_arena_high_water(const tcnn_model *m) { return m->high_water; }
