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
    if (bytes > (1LL << 30)) return TCNN_E_SHAPE;
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
    if (o[O_NIN] < 0 || o[O_NOUT] != 1 || o[O_IN] < 0 || o[O_OUT] < 0 ||
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

/* array k of the record, checked: int32 (or int8 for LUT) with `count` elements */
static const int32_t *array_ref(const tcnn_model *m, int32_t k, int32_t dtype, int32_t count) {
  if (k < 0 || k >= m->n_arrays) return NULL;
  const int32_t *a = m->arrays + k * TCNN_ARRAY_WORDS;
  if (a[2] != dtype || a[1] != count * elem_size[dtype]) return NULL;
  return (const int32_t *)(m->payload + a[0]);
}

static int has(const int32_t *f, int bit) { return (f[0] >> bit) & 1; }

/* resolve one op's arguments; also the per-op validation of dtypes, fields and shapes */
static int prepare(const tcnn_model *m, int i, tcnn_op_args *a) {
  const int32_t *o = m->ops + i * TCNN_OP_WORDS;
  memset(a, 0, sizeof(*a));
  a->f = record(m, i);
  for (int k = 0; k < o[O_NIN] && k < 3; k++) {
    const int32_t t = m->index[o[O_IN] + k];
    if (t < 0) continue;
    a->in[k] = tensor_data(m, t);
    a->in_shape[k] = shape4(tcnn_tensor(m, t));
    a->in_dtype[k] = tcnn_tensor(m, t)[T_DTYPE];
  }
  const int32_t *to = tcnn_tensor(m, m->index[o[O_OUT]]);
  a->out = m->arena + to[T_ARENA];
  a->out_shape = shape4(to);
  const int32_t code = o[O_CODE];
  if (o[O_VARIANT] != TCNN_VARIANT_NONE) return TCNN_E_UNSUPPORTED;
  if (to[T_DTYPE] != TCNN_DT_INT8 || (a->in[0] && a->in_dtype[0] != TCNN_DT_INT8)) return TCNN_E_UNSUPPORTED;
  const int32_t need = (1 << 8) - 1;  /* conv-like: geometry/quant fields 0..7 */
  switch (code) {
  case TCNN_OP_CONV_2D:
  case TCNN_OP_DEPTHWISE_CONV_2D: {
    if ((a->f[0] & need) != need || !has(a->f, 8) || !has(a->f, 9) || o[O_NIN] < 2 || !a->in[1]) return TCNN_E_FIELD;
    if (code == TCNN_OP_CONV_2D && has(a->f, TCNN_CONV_2D_OUTPUT_MODE_BIT) && a->f[TCNN_CONV_2D_OUTPUT_MODE] != TCNN_OUTPUT_MODE_NONE)
      return TCNN_E_UNSUPPORTED;
    const int32_t *wt = tcnn_tensor(m, m->index[o[O_IN] + 1]);
    if (wt[T_DTYPE] != TCNN_DT_INT8) return TCNN_E_UNSUPPORTED;
    const int32_t cout = a->out_shape.c;
    if (code == TCNN_OP_DEPTHWISE_CONV_2D) {
      if (wt[T_RANK] != 3) return TCNN_E_SHAPE;
      a->in_shape[1] = (tcnn_shape4){1, wt[T_SHAPE], wt[T_SHAPE + 1], wt[T_SHAPE + 2]};
      const int32_t dm = a->f[TCNN_DEPTHWISE_CONV_2D_DEPTH_MULTIPLIER];
      if (dm < 1 || a->in_shape[1].c != cout || cout != a->in_shape[0].c * dm) return TCNN_E_SHAPE;
    } else {
      if (wt[T_RANK] != 4 || wt[T_SHAPE] != cout) return TCNN_E_SHAPE;
      const int32_t g = a->f[TCNN_CONV_2D_GROUPS];
      if (!has(a->f, TCNN_CONV_2D_GROUPS_BIT) || g < 1 || cout % g || wt[T_SHAPE + 3] * g != a->in_shape[0].c) return TCNN_E_SHAPE;
    }
    const int32_t *f = a->f;
    for (int d = 0; d < 2; d++) {
      const int32_t k = code == TCNN_OP_CONV_2D ? wt[T_SHAPE + 1 + d] : wt[T_SHAPE + d];
      const int32_t s = f[1 + d], dl = f[3 + d], p0 = f[5 + d], p1 = f[7 + d];
      const int32_t in = d == 0 ? a->in_shape[0].h : a->in_shape[0].w, out = d == 0 ? a->out_shape.h : a->out_shape.w;
      if (s < 1 || dl < 1 || p0 < 0 || p1 < 0 || p0 > 1024 || p1 > 1024 || s > 1024 || dl > 1024) return TCNN_E_FIELD;
      if (out != (in + p0 + p1 - dl * (k - 1) - 1) / s + 1) return TCNN_E_SHAPE;
    }
    if (a->out_shape.n != a->in_shape[0].n) return TCNN_E_SHAPE;
    a->arr[0] = array_ref(m, f[TCNN_CONV_2D_OUTPUT_MULTIPLIER], TCNN_DT_INT32, cout);
    a->arr[1] = array_ref(m, f[TCNN_CONV_2D_OUTPUT_SHIFT], TCNN_DT_INT32, cout);
    break;
  }
  case TCNN_OP_FULLY_CONNECTED: {
    if ((a->f[0] & 15) != 15 || !has(a->f, 4) || !has(a->f, 5) || o[O_NIN] < 2 || !a->in[1]) return TCNN_E_FIELD;
    const int32_t *wt = tcnn_tensor(m, m->index[o[O_IN] + 1]);
    const int32_t cout = a->out_shape.c;
    if (wt[T_DTYPE] != TCNN_DT_INT8 || wt[T_RANK] != 2 || wt[T_SHAPE] != cout) return TCNN_E_SHAPE;
    const tcnn_shape4 x = a->in_shape[0];
    if ((int64_t)x.h * x.w * x.c != wt[T_SHAPE + 1] || a->out_shape.n != x.n) return TCNN_E_SHAPE;
    a->in_shape[1] = (tcnn_shape4){1, 1, cout, wt[T_SHAPE + 1]};
    a->arr[0] = array_ref(m, a->f[TCNN_FULLY_CONNECTED_OUTPUT_MULTIPLIER], TCNN_DT_INT32, cout);
    a->arr[1] = array_ref(m, a->f[TCNN_FULLY_CONNECTED_OUTPUT_SHIFT], TCNN_DT_INT32, cout);
    break;
  }
  case TCNN_OP_MAX_POOL_2D:
  case TCNN_OP_AVERAGE_POOL_2D: {
    const int32_t *f = a->f;
    if ((f[0] & 31) != 31) return TCNN_E_FIELD;
    for (int d = 0; d < 2; d++) {
      const int32_t k = f[1 + d], s = f[3 + d], p0 = f[5 + d], p1 = f[7 + d];
      const int32_t in = d == 0 ? a->in_shape[0].h : a->in_shape[0].w, out = d == 0 ? a->out_shape.h : a->out_shape.w;
      if (k < 1 || s < 1 || p0 < 0 || p1 < 0 || k > 4096 || s > 4096 || p0 > 4096 || p1 > 4096) return TCNN_E_FIELD;
      if (out != (in + p0 + p1 - k) / s + 1) return TCNN_E_SHAPE;
    }
    if (a->out_shape.c != a->in_shape[0].c || a->out_shape.n != a->in_shape[0].n) return TCNN_E_SHAPE;
    break;
  }
  case TCNN_OP_MEAN:
    if ((a->f[0] & 0x3C) != 0x3C) return TCNN_E_FIELD;
    if (a->out_shape.c != a->in_shape[0].c || a->out_shape.n * a->out_shape.h * a->out_shape.w != a->in_shape[0].n) return TCNN_E_SHAPE;
    break;
  case TCNN_OP_ADD:
  case TCNN_OP_SUB:
  case TCNN_OP_MUL: {
    const int32_t need_bits = code == TCNN_OP_MUL ? 0x7F : 0xFFF;
    if ((a->f[0] & need_bits) != need_bits || o[O_NIN] != 2 || !a->in[1] || a->in_dtype[1] != TCNN_DT_INT8) return TCNN_E_FIELD;
    for (int k = 0; k < 2; k++) {
      const tcnn_shape4 s = a->in_shape[k], os = a->out_shape;
      if ((s.n != os.n && s.n != 1) || (s.h != os.h && s.h != 1) || (s.w != os.w && s.w != 1) || (s.c != os.c && s.c != 1))
        return TCNN_E_SHAPE;
    }
    if (a->f[TCNN_ADD_LEFT_SHIFT] < 0 || a->f[TCNN_ADD_LEFT_SHIFT] > 30) return TCNN_E_FIELD;
    break;
  }
  case TCNN_OP_REQUANTIZE:
  case TCNN_OP_RESHAPE:
    if (code == TCNN_OP_REQUANTIZE && (a->f[0] & 15) != 15) return TCNN_E_FIELD;
    if (tensor_elems(to) != tensor_elems(tcnn_tensor(m, m->index[o[O_IN]]))) return TCNN_E_SHAPE;
    break;
  case TCNN_OP_LUT:
    if (!has(a->f, 0)) return TCNN_E_FIELD;
    if (tensor_elems(to) != tensor_elems(tcnn_tensor(m, m->index[o[O_IN]]))) return TCNN_E_SHAPE;
    a->arr[0] = array_ref(m, a->f[TCNN_LUT_LUT], TCNN_DT_INT8, 256);
    if (!a->arr[0]) return TCNN_E_FIELD;
    break;
  default:
    return TCNN_E_UNSUPPORTED;
  }
  if (!a->in[0]) return TCNN_E_INDEX;
  if ((code <= TCNN_OP_FULLY_CONNECTED) && (!a->arr[0] || !a->arr[1])) return TCNN_E_FIELD;
  if (code <= TCNN_OP_FULLY_CONNECTED && o[O_NIN] > 2 && a->in[2]) {
    const int32_t *bt = tcnn_tensor(m, m->index[o[O_IN] + 2]);
    if (bt[T_DTYPE] != TCNN_DT_INT32 || tensor_elems(bt) != a->out_shape.c) return TCNN_E_SHAPE;
  }
  return TCNN_OK;
}

size_t tcnn_arena_required(const uint8_t *blob, size_t blob_size) {
  tcnn_model m;
  return parse(&m, blob, blob_size) == TCNN_OK ? (size_t)m.arena_bytes : 0;
}

int tcnn_init(tcnn_model *m, const uint8_t *blob, size_t blob_size, uint8_t *arena, size_t arena_size) {
  int err = parse(m, blob, blob_size);
  if (err) return err;
  if (!arena || arena_size < (size_t)m->arena_bytes || ((uintptr_t)arena) % 4) return TCNN_E_ARENA;
  m->arena = arena; m->arena_size = arena_size;
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
  case TCNN_E_COUNT: return "too many tensors or ops, or no arena plan";
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
    switch (m->ops[i * TCNN_OP_WORDS + O_CODE]) {
    case TCNN_OP_CONV_2D: err = tcnn_conv_s8(&a); break;
    case TCNN_OP_DEPTHWISE_CONV_2D: err = tcnn_depthwise_s8(&a); break;
    case TCNN_OP_FULLY_CONNECTED: err = tcnn_fc_s8(&a); break;
    case TCNN_OP_MAX_POOL_2D: err = tcnn_max_pool_s8(&a); break;
    case TCNN_OP_AVERAGE_POOL_2D: err = tcnn_avg_pool_s8(&a); break;
    case TCNN_OP_MEAN: err = tcnn_mean_s8(&a); break;
    case TCNN_OP_ADD: err = tcnn_add_sub_s8(&a, 1); break;
    case TCNN_OP_SUB: err = tcnn_add_sub_s8(&a, -1); break;
    case TCNN_OP_MUL: err = tcnn_mul_s8(&a); break;
    case TCNN_OP_REQUANTIZE: err = tcnn_requantize_s8(&a); break;
    case TCNN_OP_LUT: err = tcnn_lut_s8(&a); break;
    case TCNN_OP_RESHAPE:
      if (a.out != a.in[0]) memmove(a.out, a.in[0], (size_t)to[T_B1BYTES]);
      break;
    default: err = TCNN_E_UNSUPPORTED;
    }
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
const char *tcnn_op_name(const tcnn_model *m, int i) { (void)m; (void)i; return ""; }
uint32_t tcnn_op_macs(const tcnn_model *m, int i) { return (i >= 0 && i < m->n_ops) ? (uint32_t)m->ops[i * TCNN_OP_WORDS + O_MACS] : 0; }
size_t tcnn_arena_high_water(const tcnn_model *m) { return m->high_water; }
