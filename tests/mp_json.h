/* A strict little JSON reader for the tests: parses a whole document (RFC
 * 8259 grammar: objects, arrays, strings with escapes, numbers, true, false,
 * null; nothing may follow) into a tree, and looks members up by key. So a
 * test checks that the library's JSON parses, not only that it contains
 * some text. Not for untrusted input beyond the tests. */
#ifndef MEMPOOL_TEST_JSON_H
#define MEMPOOL_TEST_JSON_H

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef enum { MPJ_NULL, MPJ_BOOL, MPJ_NUMBER, MPJ_STRING, MPJ_ARRAY, MPJ_OBJECT } mpj_type;

typedef struct mpj {
    mpj_type type;
    double number;
    bool boolean;
    char *string;      /* MPJ_STRING: the decoded text (\uXXXX below 0x80 only) */
    char **keys;       /* MPJ_OBJECT: n keys */
    struct mpj **items; /* MPJ_ARRAY, MPJ_OBJECT: n values */
    size_t n;
} mpj;

static void mpj_free(mpj *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        if (v->keys)
            free(v->keys[i]);
        mpj_free(v->items[i]);
    }
    free(v->keys);
    free(v->items);
    free(v->string);
    free(v);
}

static mpj *mpj_value(const char **s, int depth);

static void mpj_ws(const char **s)
{
    while (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')
        (*s)++;
}

static char *mpj_string(const char **s)
{
    if (**s != '"')
        return NULL;
    const char *p = *s + 1;
    char *out = malloc(strlen(p) + 1), *o = out;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20) { /* unescaped control character, or the end */
            free(out);
            return NULL;
        }
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        const char *esc = strchr("\"\\/bfnrt", *p);
        if (*p && esc) {
            *o++ = "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"];
        } else if (*p == 'u' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]) &&
                   isxdigit((unsigned char)p[3]) && isxdigit((unsigned char)p[4])) {
            char hex[5] = {p[1], p[2], p[3], p[4], 0};
            long c = strtol(hex, NULL, 16);
            *o++ = c < 0x80 ? (char)c : '?';
            p += 4;
        } else {
            free(out);
            return NULL;
        }
    }
    *o = 0;
    *s = p + 1;
    return out;
}

static bool mpj_push(mpj *v, char *key, mpj *item)
{
    mpj **items = realloc(v->items, (v->n + 1) * sizeof *items);
    if (!items)
        return false;
    v->items = items;
    if (v->type == MPJ_OBJECT) {
        char **keys = realloc(v->keys, (v->n + 1) * sizeof *keys);
        if (!keys)
            return false;
        v->keys = keys;
        v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
    return true;
}

/* Members or elements up to close (']' or '}'); false on a syntax error. */
static bool mpj_list(const char **s, mpj *v, char close, int depth)
{
    (*s)++;
    mpj_ws(s);
    if (**s == close) {
        (*s)++;
        return true;
    }
    for (;;) {
        char *key = NULL;
        mpj_ws(s);
        if (v->type == MPJ_OBJECT) {
            if (!(key = mpj_string(s)))
                return false;
            mpj_ws(s);
            if (*(*s)++ != ':') {
                free(key);
                return false;
            }
        }
        mpj *item = mpj_value(s, depth + 1);
        if (!item || !mpj_push(v, key, item)) {
            free(key);
            mpj_free(item);
            return false;
        }
        mpj_ws(s);
        if (**s == ',') {
            (*s)++;
            continue;
        }
        if (**s != close)
            return false;
        (*s)++;
        return true;
    }
}

static mpj *mpj_value(const char **s, int depth)
{
    mpj_ws(s);
    mpj *v = calloc(1, sizeof *v);
    if (!v || depth > 64)
        goto fail;
    if (**s == '{' || **s == '[') {
        v->type = **s == '{' ? MPJ_OBJECT : MPJ_ARRAY;
        if (!mpj_list(s, v, **s == '{' ? '}' : ']', depth))
            goto fail;
    } else if (**s == '"') {
        v->type = MPJ_STRING;
        if (!(v->string = mpj_string(s)))
            goto fail;
    } else if (strncmp(*s, "true", 4) == 0 || strncmp(*s, "false", 5) == 0) {
        v->type = MPJ_BOOL;
        v->boolean = **s == 't';
        *s += v->boolean ? 4 : 5;
    } else if (strncmp(*s, "null", 4) == 0) {
        *s += 4;
    } else {
        /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
        const char *p = *s;
        p += *p == '-';
        if (!isdigit((unsigned char)*p) || (p[0] == '0' && isdigit((unsigned char)p[1])))
            goto fail;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p == '.' && !isdigit((unsigned char)*++p))
            goto fail;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p == 'e' || *p == 'E') {
            p++;
            p += *p == '+' || *p == '-';
            if (!isdigit((unsigned char)*p))
                goto fail;
            while (isdigit((unsigned char)*p))
                p++;
        }
        v->type = MPJ_NUMBER;
        v->number = strtod(*s, NULL);
        *s = p;
    }
    return v;
fail:
    mpj_free(v);
    return NULL;
}

/* The document, or NULL when text is not exactly one JSON value. */
static mpj *mpj_parse(const char *text)
{
    const char *s = text;
    mpj *v = mpj_value(&s, 0);
    mpj_ws(&s);
    if (v && *s) {
        mpj_free(v);
        return NULL;
    }
    return v;
}

/* The member key of object v, or NULL. */
static const mpj *mpj_get(const mpj *v, const char *key)
{
    for (size_t i = 0; v && v->type == MPJ_OBJECT && i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return v->items[i];
    return NULL;
}

#endif
