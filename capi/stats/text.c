/* The growable string of format.h: one writer for every listing and JSON
 * form built piece by piece (the registry's, the memory snapshot's). */
#include "stats/format.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the terminator; false (the text dropped) for
 * want of memory. */
static bool room(mp__text *t, size_t n)
{
    if (t->failed)
        return false;
    if (t->len + n + 1 <= t->cap)
        return true;
    size_t cap = (t->len + n + 1) * 2;
    char *s = realloc(t->s, cap);
    if (!s) {
        free(t->s);
        *t = (mp__text){.failed = true};
        return false;
    }
    t->s = s;
    t->cap = cap;
    return true;
}

void mp__text_add(mp__text *t, const char *s)
{
    size_t n = strlen(s);
    if (!room(t, n))
        return;
    memcpy(t->s + t->len, s, n + 1);
    t->len += n;
}

void mp__text_addf(mp__text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { /* an encoding error: nothing to write, the text is unusable */
        free(t->s);
        *t = (mp__text){.failed = true};
        return;
    }
    if (!room(t, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void mp__text_json_string(mp__text *t, const char *s)
{
    mp__text_add(t, "\"");
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c && c != '"' && c != '\\' && c >= 0x20)
            continue;
        if (s > run && room(t, (size_t)(s - run))) { /* the plain bytes before c */
            memcpy(t->s + t->len, run, (size_t)(s - run));
            t->len += (size_t)(s - run);
            t->s[t->len] = 0;
        }
        if (!c)
            break;
        if (c == '"' || c == '\\')
            mp__text_addf(t, "\\%c", c);
        else
            mp__text_addf(t, "\\u%04x", c);
        run = s + 1;
    }
    mp__text_add(t, "\"");
}

char *mp__text_take(mp__text *t)
{
    if (!t->failed && !t->s)
        mp__text_add(t, "");
    char *s = t->failed ? NULL : t->s;
    *t = (mp__text){0};
    return s;
}
