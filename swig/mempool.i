/* mempool's SWIG interface, one file for Java and Go.
 *
 * It maps types and nothing else: every rule lives in the C core. The
 * generated swig/mempool_abi.i applies the shapes defined here to each
 * out-parameter and the status handling to each call that can fail, so a
 * function added to capi/mempool.abi.lua gets its Java and Go form without a
 * hand edit here.
 *
 * Shapes (per language below):
 *   MP_OUT_HANDLE, MP_OUT_ADDRESS   pool handles / addresses   Java long[]    Go []uintptr
 *   MP_OUT_VALUE                    size_t, int, bool, enums   Java long[]/int[]/boolean[]  Go []uint64/[]int32/[]bool
 *   MP_OUT_STRING, MP_OUT_CSTRING   returned strings           Java String[]  Go []string
 *   MP_OUT_STRUCT, MP_OUT_RECORDS   structs with struct_size   proxy classes (struct_size preset)
 *   MP_CHECKED (return mp_status)   Java: void, throws the exception named in the manifest
 *                                   Go: error (*Error, which unwraps to a sentinel)
 * Pool, router and tracker handles and addresses are plain integers (Java long, Go uintptr).
 * mp_policy holds C function pointers: Java and Go do not set policies.
 */
%{
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <mempool/mempool.h>
%}

%include <stdint.i>

/* ---- structs: the constructor sets struct_size --------------------------- */
%define MP_SIZED(T)
%immutable T::struct_size;
%extend T {
    T() {
        T *s = (T *)calloc(1, sizeof(T));
        if (s) s->struct_size = sizeof(T);
        return s;
    }
    ~T() { free($self); }
}
%enddef
MP_SIZED(mp_config)
MP_SIZED(mp_stats)
MP_SIZED(mp_allocation_info)
MP_SIZED(mp_memory_snapshot)
MP_SIZED(mp_chunk_info)
MP_SIZED(mp_class_info)

/* Arrays of records (mp_pool_memory_snapshot): mpswig_NAME(n) makes one of
 * n records (at least one) with the stride set, mpswig_NAME_at(a, i) is
 * record i, mpswig_NAME_free frees the array. */
%define MP_RECORDS(T, NAME)
%inline %{
T *mpswig_##NAME(size_t n)
{
    T *r = (T *)calloc(n ? n : 1, sizeof *r);
    if (r) r[0].struct_size = sizeof *r;
    return r;
}
T *mpswig_##NAME##_at(T *records, size_t i) { return &records[i]; }
void mpswig_##NAME##_free(T *records) { free(records); }
%}
%enddef
MP_RECORDS(mp_chunk_info, chunks)
MP_RECORDS(mp_class_info, classes)

/* Arrays of allocation records for mp_pool_get_allocations. */
%inline %{
mp_allocation_info *mpswig_records(size_t n)
{
    mp_allocation_info *r = (mp_allocation_info *)calloc(n ? n : 1, sizeof *r);
    if (r) r[0].struct_size = sizeof *r;
    return r;
}
mp_allocation_info *mpswig_record_at(mp_allocation_info *records, size_t i) { return &records[i]; }
void mpswig_records_free(mp_allocation_info *records) { free(records); }
%}

/* A failed call's status and detail, taken on the calling thread. The
 * status names come from the generated part. */
%{
static const char *mpswig_error_name(int status);
typedef struct mpswig_error { int status; char detail[512]; } mpswig_error;
%}

/* Structs given or filled by the caller keep SWIG's proxy classes. */
%apply SWIGTYPE * { mp_config *MP_OUT_STRUCT, mp_stats *MP_OUT_STRUCT, mp_memory_snapshot *MP_OUT_STRUCT,
                     mp_allocation_info *MP_OUT_RECORDS, mp_chunk_info *MP_OUT_RECORDS,
                     mp_class_info *MP_OUT_RECORDS };

#if defined(SWIGJAVA)
/* ---- Java ------------------------------------------------------------------ */
%include <enumtypeunsafe.swg>
%javaconst(1);

/* The JNI library loads with the first native call (NativeLoader): from the
 * path in the system property mempool.jni.library, else from the jar, else
 * from java.library.path. */
%pragma(java) jniclasscode=%{
  static {
    NativeLoader.load();
  }
%}

%define MP_JAVA_HANDLES mp_pool *, const mp_pool *, mp_router *, const mp_router *, mp_tracker *, const mp_tracker *, void *, const void * %enddef
%typemap(jni) MP_JAVA_HANDLES "jlong"
%typemap(jtype) MP_JAVA_HANDLES "long"
%typemap(jstype) MP_JAVA_HANDLES "long"
%typemap(javain) MP_JAVA_HANDLES "$javainput"
%typemap(javaout) MP_JAVA_HANDLES { return $jnicall; }
%typemap(in) MP_JAVA_HANDLES %{ $1 = ($1_ltype)(intptr_t)$input; %}
%typemap(out) MP_JAVA_HANDLES %{ $result = (jlong)(intptr_t)$1; %}

%{
static int mpswig_java_room(JNIEnv *jenv, jarray a)
{
    if (a && (*jenv)->GetArrayLength(jenv, a) >= 1)
        return 1;
    jclass c = (*jenv)->FindClass(jenv, "java/lang/IllegalArgumentException");
    if (c) (*jenv)->ThrowNew(jenv, c, "mempool: an out-array of length 1 or more is needed");
    return 0;
}

/* Strings cross as standard UTF-8. JNI's own conversions (GetStringUTFChars,
 * NewStringUTF) use modified UTF-8: a character outside the BMP becomes two
 * 3-byte surrogate sequences, which the library rightly refuses as not
 * UTF-8, and NUL becomes two bytes; NewStringUTF of a 4-byte sequence is
 * undefined. So the binding converts from and to UTF-16 itself. */

/* C's UTF-8 as a Java String; malformed bytes read as U+FFFD. */
static jstring mpswig_java_string(JNIEnv *jenv, const char *s)
{
    if (!s)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, k = 0;
    while (i < n && p[i] < 0x80)
        i++;
    if (i == n) /* ASCII: modified UTF-8 says the same */
        return (*jenv)->NewStringUTF(jenv, s);
    jchar *u = (jchar *)malloc(n * sizeof *u); /* never more units than bytes */
    if (!u) {
        jclass c = (*jenv)->FindClass(jenv, "java/lang/OutOfMemoryError");
        if (c) (*jenv)->ThrowNew(jenv, c, "mempool: no memory to convert a string");
        return NULL;
    }
    for (i = 0; i < n;) {
        uint32_t c = p[i], min;
        size_t len, j;
        if (c < 0x80) {
            u[k++] = (jchar)c;
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) len = 2, c &= 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, c &= 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) len = 4, c &= 0x07, min = 0x10000;
        else len = 0, min = 0;
        for (j = 1; len && j < len; j++) {
            if (i + j >= n || (p[i + j] & 0xC0) != 0x80)
                len = 0;
            else
                c = c << 6 | (p[i + j] & 0x3F);
        }
        if (!len || c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
            u[k++] = 0xFFFD;
            i++;
            continue;
        }
        if (c >= 0x10000) {
            c -= 0x10000;
            u[k++] = (jchar)(0xD800 + (c >> 10));
            u[k++] = (jchar)(0xDC00 + (c & 0x3FF));
        } else {
            u[k++] = (jchar)c;
        }
        i += len;
    }
    jstring r = (*jenv)->NewString(jenv, u, (jsize)k);
    free(u);
    return r;
}

static void mpswig_java_throw_detail(JNIEnv *jenv, mp_status s, const char *detail);

/* A Java String as standard UTF-8, NUL-terminated, in malloc'ed memory (NULL
 * for null). A NUL character, which C would take for the end, and an unpaired
 * surrogate, which no UTF-8 can carry, are refused with
 * InvalidArgumentException: then *failed is set and NULL returned. */
static char *mpswig_java_utf8(JNIEnv *jenv, jstring js, const char *what, int *failed)
{
    *failed = 0;
    if (!js)
        return NULL;
    jsize n = (*jenv)->GetStringLength(jenv, js), i;
    const jchar *u = (*jenv)->GetStringChars(jenv, js, NULL);
    char *out = u ? (char *)malloc((size_t)n * 3 + 1) : NULL;
    char detail[160];
    size_t k = 0;
    detail[0] = 0;
    if (!out) {
        if (u) {
            jclass c = (*jenv)->FindClass(jenv, "java/lang/OutOfMemoryError");
            if (c) (*jenv)->ThrowNew(jenv, c, "mempool: no memory to convert a string");
        }
        goto fail;
    }
    for (i = 0; i < n; i++) {
        uint32_t c = u[i];
        if (c == 0) {
            snprintf(detail, sizeof detail, "%s contains a NUL character (U+0000) at index %d, where C would end it",
                     what, (int)i);
            goto fail;
        }
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00u);
            i++;
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            snprintf(detail, sizeof detail, "%s has an unpaired surrogate U+%04X at index %d: not Unicode text",
                     what, (unsigned)c, (int)i);
            goto fail;
        }
        if (c < 0x80) {
            out[k++] = (char)c;
        } else if (c < 0x800) {
            out[k++] = (char)(0xC0 | c >> 6);
            out[k++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out[k++] = (char)(0xE0 | c >> 12);
            out[k++] = (char)(0x80 | (c >> 6 & 0x3F));
            out[k++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[k++] = (char)(0xF0 | c >> 18);
            out[k++] = (char)(0x80 | (c >> 12 & 0x3F));
            out[k++] = (char)(0x80 | (c >> 6 & 0x3F));
            out[k++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[k] = 0;
    (*jenv)->ReleaseStringChars(jenv, js, u);
    return out;
fail:
    free(out);
    if (u)
        (*jenv)->ReleaseStringChars(jenv, js, u);
    if (detail[0])
        mpswig_java_throw_detail(jenv, MP_ERR_INVALID_ARGUMENT, detail);
    *failed = 1;
    return NULL;
}

static void mpswig_java_throw(JNIEnv *jenv, mp_status s) { mpswig_java_throw_detail(jenv, s, mp_last_error_message()); }

static void mpswig_java_throw_detail(JNIEnv *jenv, mp_status s, const char *detail)
{
    char cls[96];
    const char *name = mpswig_error_name((int)s);
    snprintf(cls, sizeof cls, "org/mempool/%sException", name ? name : "MemoryPool");
    jclass c = (*jenv)->FindClass(jenv, cls);
    if (!c) {
        (*jenv)->ExceptionClear(jenv);
        c = (*jenv)->FindClass(jenv, "org/mempool/MemoryPoolException");
    }
    jmethodID ctor = c ? (*jenv)->GetMethodID(jenv, c, "<init>", "(ILjava/lang/String;)V") : NULL;
    if (!ctor) {
        (*jenv)->ExceptionClear(jenv);
        c = (*jenv)->FindClass(jenv, "java/lang/IllegalStateException");
        if (c) (*jenv)->ThrowNew(jenv, c, "mempool: the exception classes are missing");
        return;
    }
    jstring d = mpswig_java_string(jenv, detail);
    jobject e = d ? (*jenv)->NewObject(jenv, c, ctor, (jint)s, d) : NULL;
    if (e) (*jenv)->Throw(jenv, (jthrowable)e);
}
%}

/* String arguments and results (see mpswig_java_utf8 and mpswig_java_string). */
%typemap(in, noblock=1) char *, const char * (int failed) {
    $1 = ($1_ltype)mpswig_java_utf8(jenv, $input, "$1_name", &failed);
    if (failed) return $null;
}
%typemap(freearg, noblock=1) char *, const char * { free((void *)$1); }
%typemap(out, noblock=1) char *, const char * { $result = mpswig_java_string(jenv, (const char *)$1); }

%define MP_JAVA_OUT(CTYPE, SHAPE, JNIARR, JARR, JELEM, SETREGION)
%typemap(jni) CTYPE SHAPE #JNIARR
%typemap(jtype) CTYPE SHAPE #JARR
%typemap(jstype) CTYPE SHAPE #JARR
%typemap(javain) CTYPE SHAPE "$javainput"
%typemap(in) CTYPE SHAPE ($*1_ltype temp) %{
    if (!mpswig_java_room(jenv, (jarray)$input)) return $null;
    memset(&temp, 0, sizeof temp);
    $1 = &temp;
%}
%typemap(argout) CTYPE SHAPE %{
    if (!(*jenv)->ExceptionCheck(jenv)) { JELEM v = (JELEM)(intptr_t)temp$argnum; (*jenv)->SETREGION(jenv, $input, 0, 1, &v); }
%}
%enddef
MP_JAVA_OUT(mp_pool **, MP_OUT_HANDLE, jlongArray, long[], jlong, SetLongArrayRegion)
MP_JAVA_OUT(mp_router **, MP_OUT_HANDLE, jlongArray, long[], jlong, SetLongArrayRegion)
MP_JAVA_OUT(mp_tracker **, MP_OUT_HANDLE, jlongArray, long[], jlong, SetLongArrayRegion)
MP_JAVA_OUT(mp_tcache **, MP_OUT_HANDLE, jlongArray, long[], jlong, SetLongArrayRegion)
MP_JAVA_OUT(void **, MP_OUT_ADDRESS, jlongArray, long[], jlong, SetLongArrayRegion)
MP_JAVA_OUT(size_t *, MP_OUT_VALUE, jlongArray, long[], jlong, SetLongArrayRegion)
MP_JAVA_OUT(int *, MP_OUT_VALUE, jintArray, int[], jint, SetIntArrayRegion)
MP_JAVA_OUT(bool *, MP_OUT_VALUE, jbooleanArray, boolean[], jboolean, SetBooleanArrayRegion)
MP_JAVA_OUT(mp_memory_type *, MP_OUT_VALUE, jintArray, int[], jint, SetIntArrayRegion)
MP_JAVA_OUT(mp_backend_kind *, MP_OUT_VALUE, jintArray, int[], jint, SetIntArrayRegion)

%define MP_JAVA_OUT_STRING(CTYPE, SHAPE, RELEASE)
%typemap(jni) CTYPE SHAPE "jobjectArray"
%typemap(jtype) CTYPE SHAPE "String[]"
%typemap(jstype) CTYPE SHAPE "String[]"
%typemap(javain) CTYPE SHAPE "$javainput"
%typemap(in) CTYPE SHAPE ($*1_ltype temp = NULL) %{
    if (!mpswig_java_room(jenv, (jarray)$input)) return $null;
    $1 = &temp;
%}
%typemap(argout) CTYPE SHAPE %{
    if (temp$argnum) {
        if (!(*jenv)->ExceptionCheck(jenv)) {
            jstring s = mpswig_java_string(jenv, temp$argnum);
            if (s) (*jenv)->SetObjectArrayElement(jenv, $input, 0, s);
        }
        RELEASE;
    }
%}
%enddef
MP_JAVA_OUT_STRING(char **, MP_OUT_STRING, mp_string_free(temp$argnum))
MP_JAVA_OUT_STRING(const char **, MP_OUT_CSTRING, (void)0)

/* Checked calls return nothing in Java and throw on failure. The wrapper
 * goes on after the throw, so that the string arguments are freed; the
 * out-parameters are left alone while the exception is pending. */
%typemap(jstype) mp_status MP_CHECKED "void"
%typemap(javaout) mp_status MP_CHECKED { $jnicall; }
%typemap(out) mp_status MP_CHECKED %{
    if ($1 != MP_OK)
        mpswig_java_throw(jenv, $1);
    $result = (jint)$1;
%}

/* Allocation fast path: the address itself, no out-array; a failure throws. */
%typemap(out) void *mpswig_allocate %{
    if (!$1) {
        mpswig_java_throw(jenv, mp_last_error());
        return $null;
    }
    $result = (jlong)(intptr_t)$1;
%}
%inline %{
void *mpswig_allocate(mp_pool *pool, size_t size)
{
    void *p = NULL;
    mp_pool_allocate(pool, size, &p);
    return p;
}
%}

/* A direct ByteBuffer over CPU memory. */
%{
typedef struct mpswig_bytes { void *address; size_t size; } mpswig_bytes;
%}
typedef struct mpswig_bytes { void *address; size_t size; } mpswig_bytes;
%typemap(jni) mpswig_bytes "jobject"
%typemap(jtype) mpswig_bytes "java.nio.ByteBuffer"
%typemap(jstype) mpswig_bytes "java.nio.ByteBuffer"
%typemap(javaout) mpswig_bytes { return $jnicall; }
%typemap(out) mpswig_bytes %{ $result = (*jenv)->NewDirectByteBuffer(jenv, $1.address, (jlong)$1.size); %}
%inline %{
mpswig_bytes mpswig_view(void *address, size_t size)
{
    mpswig_bytes b = {address, size};
    return b;
}
%}
#endif

#if defined(SWIGGO)
/* ---- Go -------------------------------------------------------------------- */
%go_import("errors", "unsafe")
%insert(cgo_comment_typedefs) %{
#cgo pkg-config: mempool
%}

%typemap(gotype) mp_pool *, const mp_pool *, mp_router *, const mp_router *, mp_tracker *, const mp_tracker * "uintptr"
%typemap(in) mp_pool *, const mp_pool *, mp_router *, const mp_router *, mp_tracker *, const mp_tracker * %{ $1 = ($1_ltype)$input; %}

%define MP_GO_OUT(CTYPE, SHAPE, GOTYPE)
%typemap(gotype) CTYPE SHAPE %{[]GOTYPE%}
%typemap(in) CTYPE SHAPE ($*1_ltype temp) %{
    if ($input.len == 0) _swig_gopanic("mempool: an out-slice of length 1 or more is needed");
    memset(&temp, 0, sizeof temp);
    $1 = &temp;
%}
%typemap(argout) CTYPE SHAPE %{ ((GOTYPE##_c *)$input.array)[0] = (GOTYPE##_c)(intptr_t)temp$argnum; %}
%enddef
%{
typedef uintptr_t uintptr_c;
typedef uint64_t uint64_c;
typedef int32_t int32_c;
typedef _Bool bool_c;
%}
MP_GO_OUT(mp_pool **, MP_OUT_HANDLE, uintptr)
MP_GO_OUT(mp_router **, MP_OUT_HANDLE, uintptr)
MP_GO_OUT(mp_tracker **, MP_OUT_HANDLE, uintptr)
MP_GO_OUT(mp_tcache **, MP_OUT_HANDLE, uintptr)
MP_GO_OUT(void **, MP_OUT_ADDRESS, uintptr)
MP_GO_OUT(size_t *, MP_OUT_VALUE, uint64)
MP_GO_OUT(int *, MP_OUT_VALUE, int32)
MP_GO_OUT(bool *, MP_OUT_VALUE, bool)
MP_GO_OUT(mp_memory_type *, MP_OUT_VALUE, int32)
MP_GO_OUT(mp_backend_kind *, MP_OUT_VALUE, int32)

%define MP_GO_OUT_STRING(CTYPE, SHAPE, RELEASE)
%typemap(gotype) CTYPE SHAPE "[]string"
%typemap(in) CTYPE SHAPE ($*1_ltype temp = NULL) %{
    if ($input.len == 0) _swig_gopanic("mempool: an out-slice of length 1 or more is needed");
    $1 = &temp;
%}
%typemap(argout) CTYPE SHAPE %{
    ((_gostring_ *)$input.array)[0] = Swig_AllocateString(temp$argnum ? temp$argnum : "",
                                                           temp$argnum ? strlen(temp$argnum) : 0);
    if (temp$argnum) { RELEASE; }
%}
%typemap(goargout) CTYPE SHAPE %{ $input[0] = swigCopyString($input[0]) %}
%enddef
MP_GO_OUT_STRING(char **, MP_OUT_STRING, mp_string_free(temp$argnum))
MP_GO_OUT_STRING(const char **, MP_OUT_CSTRING, (void)0)

/* Checked calls return error: nil, or *Error captured on the calling thread
 * (a goroutine may change threads between two cgo calls). */
%{
static uintptr_t mpswig_go_error(mp_status s)
{
    mpswig_error *e = (mpswig_error *)malloc(sizeof *e);
    if (!e) return (uintptr_t)1; /* decoded as "out of memory while reporting" */
    e->status = (int)s;
    snprintf(e->detail, sizeof e->detail, "%s", mp_last_error_message());
    return (uintptr_t)e;
}
%}
%typemap(gotype) mp_status MP_CHECKED "error"
%typemap(imtype) mp_status MP_CHECKED "uintptr"
%typemap(out) mp_status MP_CHECKED %{ $result = $1 == MP_OK ? 0 : mpswig_go_error($1); %}
%typemap(goout) mp_status MP_CHECKED %{ $result = takeError($1) %}

/* Allocation fast path: one integer, the address or, with the top bit set
 * (never set in a user-space address), the captured error record. */
%inline %{
uintptr_t mpswig_allocate(mp_pool *pool, size_t size)
{
    void *p = NULL;
    mp_status s = mp_pool_allocate(pool, size, &p);
    return s == MP_OK ? (uintptr_t)p : (mpswig_go_error(s) | ((uintptr_t)1 << 63));
}
%}

%insert(go_wrapper) %{
// Address decodes Mpswig_allocate's result: the block's address, or the error.
func Address(r uintptr) (uintptr, error) {
	if r>>63 != 0 {
		return 0, takeError(r &^ (1 << 63))
	}
	return r, nil
}

// Error is a failed mempool call: its status, the status's name and the
// library's detail message. errors.Is(err, ErrOutOfMemory) and the like work
// through Unwrap.
type Error struct {
	Status int
	Name   string
	Detail string
}

func (e *Error) Error() string { return "mempool: " + e.Name + ": " + e.Detail }

// Unwrap gives the sentinel of the status (ErrOutOfMemory, ...).
func (e *Error) Unwrap() error {
	if e.Status > 0 && e.Status < len(statusSentinels) {
		return statusSentinels[e.Status]
	}
	return nil
}

func takeError(p uintptr) error {
	if p == 0 {
		return nil
	}
	if p == 1 {
		return &Error{Status: 2, Name: statusNames[2], Detail: "no memory to report an error"}
	}
	type raw struct {
		status int32
		detail [512]byte
	}
	r := (*raw)(unsafe.Pointer(p))
	n := 0
	for n < len(r.detail) && r.detail[n] != 0 {
		n++
	}
	e := &Error{Status: int(r.status), Detail: string(r.detail[:n])}
	if e.Status >= 0 && e.Status < len(statusNames) {
		e.Name = statusNames[e.Status]
	} else {
		e.Name = "MP_ERR_UNKNOWN"
	}
	Swig_free(p)
	return e
}

var _ = errors.New
%}
#endif

/* mp_stats_print for Java and Go: its callback's text collected into one
 * string (the languages' counterpart of the C callback). */
%ignore mp_stats_print;
%apply mp_status MP_CHECKED { mp_status mpswig_stats_print };
%apply char **MP_OUT_STRING { char **out_text };
%rename(mp_stats_print) mpswig_stats_print;
%{
typedef struct mpswig_sink { char *s; size_t len; int failed; } mpswig_sink;
static void mpswig_collect(void *opaque, const char *text)
{
    mpswig_sink *k = (mpswig_sink *)opaque;
    size_t n = strlen(text);
    char *s = k->failed ? NULL : (char *)realloc(k->s, k->len + n + 1);
    if (!s) {
        k->failed = 1;
        return;
    }
    memcpy(s + k->len, text, n + 1);
    k->s = s;
    k->len += n;
}
%}
%inline %{
mp_status mpswig_stats_print(const char *options, char **out_text)
{
    mpswig_sink k = {NULL, 0, 0};
    mp_status st = mp_stats_print(mpswig_collect, &k, options);
    if (st == MP_OK && k.failed)
        st = MP_ERR_OUT_OF_MEMORY;
    if (st != MP_OK) {
        free(k.s);
        return st;
    }
    *out_text = k.s ? k.s : (char *)calloc(1, 1);
    return *out_text ? MP_OK : MP_ERR_OUT_OF_MEMORY;
}
%}

%include "mempool_abi.i"
%include <mempool/mempool.h>
