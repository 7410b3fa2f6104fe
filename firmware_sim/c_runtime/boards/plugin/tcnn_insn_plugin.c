/* TCG plugin for qemu-system-arm (QEMU plugin API v1, QEMU >= 6): counts every executed Thumb
 * instruction by class and snapshots the counters each time the firmware's layer marker
 * (board_mark(), whose address is given as mark=0x...) starts executing. Built with the host
 * compiler: cc -shared -fPIC -O2 -o tcnn_insn_plugin.so tcnn_insn_plugin.c  (no QEMU headers:
 * Debian's QEMU 7.2 ships no qemu-plugin.h, so the few API functions used are declared here).
 *   qemu-system-arm ... -plugin tcnn_insn_plugin.so,mark=0x1234,out=insns.txt[,profile=FILE,base=0x0]
 * (profile: executions per instruction address, "ADDR COUNT" lines, code in [base, base + 2 MB))
 * Output, one line per marker hit and a final "total" line:
 *   mark K load store mul dsp_mac simd branch mve fp other      (cumulative counts at the hit)
 * Classes (exclusive): loads (incl. LDM/POP/LDRD/TBB), stores (STM/PUSH/STRD), multiplies
 * (MUL/MLA/long/divide), DSP MACs (SMLAD/SMLABB/SMUAD/SMLALD ... halfword and dual multiplies),
 * SIMD (Armv7E-M packed add/extend: SXTB16, SXTAB16, SADD16, ...), branches (B/BL/BX/CBZ/LE/WLS,
 * POP {pc}, TBB/TBH counted as loads), MVE (vector instructions of Armv8.1-M), FP (VFP), other. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op, void *ptr,
                                                uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

enum { LOAD, STORE, MUL, DSP_MAC, SIMD, BRANCH, MVE, FP, OTHER, NCLASS };
static const char *const class_names[NCLASS] = {"load", "store", "mul", "dsp_mac", "simd", "branch", "mve", "fp",
                                                "other"};
static uint64_t counts[NCLASS];
static uint64_t mark_addr = UINT64_MAX;
static uint64_t *snaps;
static size_t n_snaps, cap_snaps;
static char out_path[1024] = "insns.txt";
/* profile=FILE: also count executions per instruction address (code below 2 MB), for tuning */
#define PROF_SPAN (2u << 20)
static uint64_t *prof;
static uint64_t prof_base;
static char prof_path[1024];

static int classify16(uint32_t h) {
  if ((h & 0xF800) == 0x4800) return LOAD;                                   /* LDR literal */
  if ((h & 0xF000) == 0x5000) return ((h >> 9) & 7) >= 3 ? LOAD : STORE;     /* reg offset */
  if ((h & 0xE000) == 0x6000 || (h & 0xF000) == 0x8000 || (h & 0xF000) == 0x9000 || (h & 0xF000) == 0xC000)
    return (h & 0x0800) ? LOAD : STORE;                                      /* imm, SP-rel, LDM/STM */
  if ((h & 0xFE00) == 0xB400) return STORE;                                  /* PUSH */
  if ((h & 0xFE00) == 0xBC00) return (h & 0x0100) ? BRANCH : LOAD;           /* POP {.., pc} */
  if ((h & 0xF500) == 0xB100) return BRANCH;                                 /* CBZ/CBNZ */
  if ((h & 0xFF00) == 0x4700) return BRANCH;                                 /* BX/BLX */
  if ((h & 0xFF87) == 0x4687) return BRANCH;                                 /* MOV pc, Rm */
  if ((h & 0xF000) == 0xD000) return (h & 0x0E00) == 0x0E00 ? OTHER : BRANCH;  /* B<c>; UDF/SVC */
  if ((h & 0xF800) == 0xE000) return BRANCH;                                 /* B */
  if ((h & 0xFFC0) == 0x4340) return MUL;                                    /* MULS */
  return OTHER;
}

static int classify32(uint32_t h1, uint32_t h2) {
  if ((h1 & 0xEF00) == 0xEF00) return MVE;                                   /* vector data processing */
  if ((h1 & 0xEC00) == 0xEC00) {                                             /* coprocessor space */
    const uint32_t cp = (h2 >> 8) & 0xF;
    return cp >= 0xE ? MVE : (cp == 0xA || cp == 0xB) ? FP : OTHER;
  }
  if ((h1 & 0xFE40) == 0xE800) return (h1 & 0x0010) ? LOAD : STORE;         /* LDM/STM */
  if ((h1 & 0xFE40) == 0xE840) {                                             /* LDRD/STRD, exclusive, TBB */
    if ((h1 & 0xFFF0) == 0xE8D0 && (h2 & 0xFFE0) == 0xF000) return LOAD;     /* TBB/TBH (load + branch) */
    return (h1 & 0x0010) ? LOAD : STORE;
  }
  if ((h1 & 0xFE00) == 0xF800) return (h1 & 0x0010) ? LOAD : STORE;         /* load/store single */
  if ((h1 & 0xF800) == 0xF000 && (h2 & 0x8000)) {                            /* branches, misc control */
    if ((h1 & 0xFFC0) == 0xF000 && h2 == 0xE801) return MVE;                 /* VCTP */
    if ((h1 & 0xFFF0) == 0xF040 && (h2 & 0xF001) == 0xE001) return OTHER;    /* DLS/DLSTP */
    if ((h2 & 0x5000) == 0 && (h1 & 0x0380) == 0x0380) return OTHER;         /* MSR/MRS/hints/barriers */
    return BRANCH;
  }
  if ((h1 & 0xFF80) == 0xFB00) {                                             /* multiply, MAC, USAD8 */
    const uint32_t op1 = (h1 >> 4) & 7;
    return op1 == 0 ? MUL : op1 == 7 ? SIMD : DSP_MAC;
  }
  if ((h1 & 0xFF80) == 0xFB80) {                                             /* long multiply, divide */
    const uint32_t op1 = (h1 >> 4) & 7, op2 = (h2 >> 4) & 0xF;
    return (op1 == 4 || op1 == 5) && op2 != 0 ? DSP_MAC : MUL;
  }
  if ((h1 & 0xFF00) == 0xFA00 && (h2 & 0xF000) == 0xF000) {                  /* register data processing */
    if ((h2 & 0x0080) || (h1 & 0x0080)) return SIMD;                          /* extend, parallel, misc */
  }
  return OTHER;
}

static void on_mark(unsigned int vcpu, void *udata) {
  (void)vcpu; (void)udata;
  if (n_snaps == cap_snaps) {
    cap_snaps = cap_snaps ? 2 * cap_snaps : 1024;
    snaps = realloc(snaps, cap_snaps * NCLASS * sizeof(uint64_t));
    if (!snaps) { qemu_plugin_outs("tcnn_insn_plugin: out of memory\n"); exit(1); }
  }
  memcpy(snaps + n_snaps++ * NCLASS, counts, sizeof(counts));
}

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    const uint8_t *d = qemu_plugin_insn_data(insn);
    const uint32_t h1 = (uint32_t)d[0] | (uint32_t)d[1] << 8;
    const int c = qemu_plugin_insn_size(insn) >= 4 ? classify32(h1, (uint32_t)d[2] | (uint32_t)d[3] << 8)
                                                   : classify16(h1);
    if (qemu_plugin_insn_vaddr(insn) == mark_addr)
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counts[c], 1);
    const uint64_t off = qemu_plugin_insn_vaddr(insn) - prof_base;
    if (prof && off < PROF_SPAN)
      qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &prof[off / 2], 1);
  }
}

static void write_row(FILE *f, const char *head, const uint64_t *c) {
  fputs(head, f);
  for (int k = 0; k < NCLASS; k++) fprintf(f, " %" PRIu64, c[k]);
  fputc('\n', f);
}

static void on_exit_cb(qemu_plugin_id_t id, void *udata) {
  (void)id; (void)udata;
  FILE *f = fopen(out_path, "w");
  if (!f) { qemu_plugin_outs("tcnn_insn_plugin: cannot write the output file\n"); return; }
  fputs("# tinycnn insns v1 classes", f);
  for (int k = 0; k < NCLASS; k++) fprintf(f, " %s", class_names[k]);
  fputc('\n', f);
  for (size_t i = 0; i < n_snaps; i++) {
    char head[32];
    snprintf(head, sizeof(head), "mark %zu", i);
    write_row(f, head, snaps + i * NCLASS);
  }
  write_row(f, "total", counts);
  fclose(f);
  if (prof && (f = fopen(prof_path, "w"))) {
    for (uint64_t i = 0; i < PROF_SPAN / 2; i++)
      if (prof[i]) fprintf(f, "%" PRIx64 " %" PRIu64 "\n", prof_base + 2 * i, prof[i]);
    fclose(f);
  }
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv) {
  (void)info;
  for (int i = 0; i < argc; i++) {
    if (!strncmp(argv[i], "mark=", 5)) mark_addr = strtoull(argv[i] + 5, NULL, 0) & ~1ull;  /* Thumb bit */
    else if (!strncmp(argv[i], "out=", 4)) snprintf(out_path, sizeof(out_path), "%s", argv[i] + 4);
    else if (!strncmp(argv[i], "profile=", 8)) snprintf(prof_path, sizeof(prof_path), "%s", argv[i] + 8);
    else if (!strncmp(argv[i], "base=", 5)) prof_base = strtoull(argv[i] + 5, NULL, 0);
    else { qemu_plugin_outs("tcnn_insn_plugin: unknown argument (mark=ADDR, out=FILE)\n"); return -1; }
  }
  if (prof_path[0] && !(prof = calloc(PROF_SPAN / 2, sizeof(uint64_t)))) return -1;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
  qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
  return 0;
}
