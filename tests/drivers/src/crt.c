/*
 * crt.c - the C runtime ntoskrnl exports, called through the IAT as drivers
 * built against the WDK call it, each result checked against what Microsoft's
 * CRT reference (and the C standard, for the portable routines) says.
 *
 * Return values (first failure wins):
 *   0xE0000001  wcsncmp / _strnicmp / _wcsicmp / strncmp ordering wrong
 *   0xE0000002  wcscpy_s / wcsncat_s result or error code wrong
 *   0xE0000003  strcpy_s / strncpy_s(_TRUNCATE) / strcat_s wrong
 *   0xE0000004  wcsrchr / wcschr / strrchr / strstr / wcsstr / strspn / wcscspn wrong
 *   0xE0000005  _vsnwprintf / _vsnprintf result or truncation wrong
 *   0xE0000006  _snprintf_s / sprintf_s / swprintf_s wrong
 *   0xE0000007  _itoa_s / _i64tow_s / _ultoa_s / _itoa wrong
 *   0xE0000008  atoi / _wtol / _strtoui64 / wcstoul wrong
 *   0xE0000009  isxdigit / isspace / toupper / towlower wrong
 *   0xE000000A  _strupr / _wcslwr / _strrev wrong
 *   0xE000000B  mbstowcs / wcstombs wrong
 *   0xE000000C  memchr / memcpy_s / memmove_s wrong
 *   0xE000000D  strtok_s tokens wrong
 *   0xE000000E  _splitpath_s / _makepath_s wrong
 *   0xE000000F  srand / rand sequence is not Microsoft's (41, 18467, 6334 for seed 1)
 *   0xE0000010  strnlen / wcsnlen wrong
 *   0xE0000011  qsort / bsearch with a driver comparator wrong
 *   0xE0000012  sscanf_s / swscanf_s / _snscanf_s / _snwscanf_s wrong
 *   0xE0000013  plain copies / concatenation / strcmp / wcscmp / _stricmp / strchr / wcsspn / memcmp wrong
 *   0xE0000014  the other _s copies, in-place set and case routines wrong
 *   0xE0000015  the other number conversions, character classes and mbtowc / wctomb wrong
 *   0xE0000016  the other printf forms (_snprintf, sprintf, swprintf, _swprintf, vsprintf, _vswprintf,
 *               vsprintf_s, vswprintf_s, _vsnprintf_s, _vsnwprintf_s, _snwprintf_s) wrong
 *   0xE0000017  _wsplitpath_s / _wmakepath_s wrong
 */
#include "compat.h"

#define EINVAL_ 22
#define ERANGE_ 34
#define STRUNCATE_ 80
#define TRUNCATE_ ((size_t)-1)

IMPSLOT(int, wcsncmp)(const wchar_t *, const wchar_t *, size_t);
IMPSLOT(int, strncmp)(const char *, const char *, size_t);
IMPSLOT(int, _strnicmp)(const char *, const char *, size_t);
IMPSLOT(int, _wcsicmp)(const wchar_t *, const wchar_t *);
IMPSLOT(int, wcscpy_s)(wchar_t *, size_t, const wchar_t *);
IMPSLOT(int, wcsncat_s)(wchar_t *, size_t, const wchar_t *, size_t);
IMPSLOT(int, strcpy_s)(char *, size_t, const char *);
IMPSLOT(int, strncpy_s)(char *, size_t, const char *, size_t);
IMPSLOT(int, strcat_s)(char *, size_t, const char *);
IMPSLOT(wchar_t *, wcsrchr)(const wchar_t *, wchar_t);
IMPSLOT(wchar_t *, wcschr)(const wchar_t *, wchar_t);
IMPSLOT(char *, strrchr)(const char *, int);
IMPSLOT(char *, strstr)(const char *, const char *);
IMPSLOT(wchar_t *, wcsstr)(const wchar_t *, const wchar_t *);
IMPSLOT(size_t, strspn)(const char *, const char *);
IMPSLOT(size_t, wcscspn)(const wchar_t *, const wchar_t *);
IMPSLOT(int, _vsnwprintf)(wchar_t *, size_t, const wchar_t *, va_list);
IMPSLOT(int, _vsnprintf)(char *, size_t, const char *, va_list);
IMPSLOT(int, _snprintf_s)(char *, size_t, size_t, const char *, ...);
IMPSLOT(int, sprintf_s)(char *, size_t, const char *, ...);
IMPSLOT(int, swprintf_s)(wchar_t *, size_t, const wchar_t *, ...);
IMPSLOT(int, _itoa_s)(int, char *, size_t, int);
IMPSLOT(int, _i64tow_s)(long long, wchar_t *, size_t, int);
IMPSLOT(int, _ultoa_s)(unsigned long, char *, size_t, int);
IMPSLOT(char *, _itoa)(int, char *, int);
IMPSLOT(int, atoi)(const char *);
IMPSLOT(long, _wtol)(const wchar_t *);
IMPSLOT(unsigned long long, _strtoui64)(const char *, char **, int);
IMPSLOT(unsigned long, wcstoul)(const wchar_t *, wchar_t **, int);
IMPSLOT(int, isxdigit)(int);
IMPSLOT(int, isspace)(int);
IMPSLOT(int, toupper)(int);
IMPSLOT(wchar_t, towlower)(wchar_t);
IMPSLOT(char *, _strupr)(char *);
IMPSLOT(wchar_t *, _wcslwr)(wchar_t *);
IMPSLOT(char *, _strrev)(char *);
IMPSLOT(size_t, mbstowcs)(wchar_t *, const char *, size_t);
IMPSLOT(size_t, wcstombs)(char *, const wchar_t *, size_t);
IMPSLOT(void *, memchr)(const void *, int, size_t);
IMPSLOT(int, memcpy_s)(void *, size_t, const void *, size_t);
IMPSLOT(int, memmove_s)(void *, size_t, const void *, size_t);
IMPSLOT(char *, strtok_s)(char *, const char *, char **);
IMPSLOT(int, _splitpath_s)(const char *, char *, size_t, char *, size_t, char *, size_t, char *, size_t);
IMPSLOT(int, _makepath_s)(char *, size_t, const char *, const char *, const char *, const char *);
IMPSLOT(void, srand)(unsigned int);
IMPSLOT(int, rand)(void);
IMPSLOT(size_t, strnlen)(const char *, size_t);
IMPSLOT(size_t, wcsnlen)(const wchar_t *, size_t);
IMPSLOT(void, qsort)(void *, size_t, size_t, int (__cdecl *)(const void *, const void *));
IMPSLOT(void *, bsearch)(const void *, const void *, size_t, size_t, int (__cdecl *)(const void *, const void *));
IMPSLOT(int, sscanf_s)(const char *, const char *, ...);
IMPSLOT(int, swscanf_s)(const wchar_t *, const wchar_t *, ...);
IMPSLOT(int, _snscanf_s)(const char *, size_t, const char *, ...);
IMPSLOT(int, _snwscanf_s)(const wchar_t *, size_t, const wchar_t *, ...);
IMPSLOT(char *, strcpy)(char *, const char *);
IMPSLOT(wchar_t *, wcscpy)(wchar_t *, const wchar_t *);
IMPSLOT(void *, memset)(void *, int, size_t);
IMPSLOT(char *, strncpy)(char *, const char *, size_t);
IMPSLOT(wchar_t *, wcsncpy)(wchar_t *, const wchar_t *, size_t);
IMPSLOT(char *, strcat)(char *, const char *);
IMPSLOT(wchar_t *, wcscat)(wchar_t *, const wchar_t *);
IMPSLOT(char *, strncat)(char *, const char *, size_t);
IMPSLOT(wchar_t *, wcsncat)(wchar_t *, const wchar_t *, size_t);
IMPSLOT(int, strcmp)(const char *, const char *);
IMPSLOT(int, wcscmp)(const wchar_t *, const wchar_t *);
IMPSLOT(int, _stricmp)(const char *, const char *);
IMPSLOT(char *, strchr)(const char *, int);
IMPSLOT(size_t, wcsspn)(const wchar_t *, const wchar_t *);
IMPSLOT(int, memcmp)(const void *, const void *, size_t);
IMPSLOT(int, wcsncpy_s)(wchar_t *, size_t, const wchar_t *, size_t);
IMPSLOT(int, wcscat_s)(wchar_t *, size_t, const wchar_t *);
IMPSLOT(int, strncat_s)(char *, size_t, const char *, size_t);
IMPSLOT(char *, _strlwr)(char *);
IMPSLOT(char *, strlwr)(char *);
IMPSLOT(wchar_t *, wcslwr)(wchar_t *);
IMPSLOT(wchar_t *, _wcsupr)(wchar_t *);
IMPSLOT(wchar_t *, _wcsrev)(wchar_t *);
IMPSLOT(char *, _strset)(char *, int);
IMPSLOT(char *, _strnset)(char *, int, size_t);
IMPSLOT(wchar_t *, _wcsnset)(wchar_t *, wchar_t, size_t);
IMPSLOT(int, _strset_s)(char *, size_t, int);
IMPSLOT(int, _wcsset_s)(wchar_t *, size_t, wchar_t);
IMPSLOT(int, _strnset_s)(char *, size_t, int, size_t);
IMPSLOT(int, _wcsnset_s)(wchar_t *, size_t, wchar_t, size_t);
IMPSLOT(int, isdigit)(int);
IMPSLOT(int, islower)(int);
IMPSLOT(int, isupper)(int);
IMPSLOT(int, isprint)(int);
IMPSLOT(int, tolower)(int);
IMPSLOT(wchar_t, towupper)(wchar_t);
IMPSLOT(long, atol)(const char *);
IMPSLOT(int, _wtoi)(const wchar_t *);
IMPSLOT(wchar_t *, _itow)(int, wchar_t *, int);
IMPSLOT(int, _itow_s)(int, wchar_t *, size_t, int);
IMPSLOT(int, _ltoa_s)(long, char *, size_t, int);
IMPSLOT(int, _ltow_s)(long, wchar_t *, size_t, int);
IMPSLOT(int, _ultow_s)(unsigned long, wchar_t *, size_t, int);
IMPSLOT(int, _i64toa_s)(long long, char *, size_t, int);
IMPSLOT(int, _ui64toa_s)(unsigned long long, char *, size_t, int);
IMPSLOT(int, _ui64tow_s)(unsigned long long, wchar_t *, size_t, int);
IMPSLOT(int, mbtowc)(wchar_t *, const char *, size_t);
IMPSLOT(int, wctomb)(char *, wchar_t);
IMPSLOT(int, _snprintf)(char *, size_t, const char *, ...);
IMPSLOT(int, sprintf)(char *, const char *, ...);
IMPSLOT(int, swprintf)(wchar_t *, const wchar_t *, ...);
IMPSLOT(int, _swprintf)(wchar_t *, const wchar_t *, ...);
IMPSLOT(int, vsprintf)(char *, const char *, va_list);
IMPSLOT(int, _vswprintf)(wchar_t *, const wchar_t *, va_list);
IMPSLOT(int, vsprintf_s)(char *, size_t, const char *, va_list);
IMPSLOT(int, vswprintf_s)(wchar_t *, size_t, const wchar_t *, va_list);
IMPSLOT(int, _vsnprintf_s)(char *, size_t, size_t, const char *, va_list);
IMPSLOT(int, _vsnwprintf_s)(wchar_t *, size_t, size_t, const wchar_t *, va_list);
IMPSLOT(int, _snwprintf_s)(wchar_t *, size_t, size_t, const wchar_t *, ...);
IMPSLOT(int, _wsplitpath_s)(const wchar_t *, wchar_t *, size_t, wchar_t *, size_t, wchar_t *, size_t, wchar_t *,
                            size_t);
IMPSLOT(int, _wmakepath_s)(wchar_t *, size_t, const wchar_t *, const wchar_t *, const wchar_t *, const wchar_t *);

static NOINLINE BOOLEAN AEq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static NOINLINE BOOLEAN WEq(const wchar_t *a, const wchar_t *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* A driver's own logging helpers are the usual callers of the va_list forms. */
static NOINLINE int WFormat(wchar_t *buf, size_t count, const wchar_t *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = IMPCALL(_vsnwprintf)(buf, count, fmt, ap);
    va_end(ap);
    return n;
}

static NOINLINE int AFormat(char *buf, size_t count, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = IMPCALL(_vsnprintf)(buf, count, fmt, ap);
    va_end(ap);
    return n;
}

typedef struct {
    ULONG key;
    char tag[4];
} RECORD;

static int __cdecl ByKey(const void *a, const void *b)
{
    ULONG x = ((const RECORD *)a)->key, y = ((const RECORD *)b)->key;
    return x < y ? -1 : x > y;
}

/* The va_list forms, the way a driver's own logging wrapper reaches them. */
static NOINLINE int VaForms(char *a, wchar_t *w, int which, ...)
{
    va_list ap;
    int n = -100;
    va_start(ap, which);
    switch (which) {
    case 0: n = IMPCALL(vsprintf)(a, "%s-%d", ap); break;
    case 1: n = IMPCALL(_vswprintf)(w, L"%s-%d", ap); break;
    case 2: n = IMPCALL(vsprintf_s)(a, 4, "%s-%d", ap); break;
    case 3: n = IMPCALL(vswprintf_s)(w, 16, L"%s-%d", ap); break;
    case 4: n = IMPCALL(_vsnprintf_s)(a, 16, 3, "%s-%d", ap); break;
    case 5: n = IMPCALL(_vsnwprintf_s)(w, 4, TRUNCATE_, L"%s-%d", ap); break;
    }
    va_end(ap);
    return n;
}

static NTSTATUS RunMore(VOID)
{
    RECORD recs[6] = {{40, "d"}, {10, "a"}, {60, "f"}, {30, "c"}, {50, "e"}, {20, "b"}};
    RECORD probe = {30, ""}, *hit;
    char a[48], b[16];
    wchar_t w[32], w2[16], drive[4], dir[16], name[8], ext[8];
    int i, x, y;
    unsigned int u;
    long long ll;

    /* qsort / bsearch call the driver's comparator */
    IMPCALL(qsort)(recs, 6, sizeof(RECORD), ByKey);
    for (i = 0; i < 6; i++) {
        if (recs[i].key != 10u * (i + 1) || recs[i].tag[0] != 'a' + i)
            return HV_FAIL(0x11);
    }
    hit = IMPCALL(bsearch)(&probe, recs, 6, sizeof(RECORD), ByKey);
    probe.key = 35;
    if (hit != &recs[2] || IMPCALL(bsearch)(&probe, recs, 6, sizeof(RECORD), ByKey) != NULL)
        return HV_FAIL(0x11);

    /* scanf family */
    if (IMPCALL(sscanf_s)("id=42 name=drv 0x1F", "id=%d name=%s %x", &x, a, (unsigned)sizeof(a), &u) != 3 ||
        x != 42 || !AEq(a, "drv") || u != 0x1F)
        return HV_FAIL(0x12);
    if (IMPCALL(swscanf_s)(L"7,wide", L"%d,%s", &y, w, 32) != 2 || y != 7 || !WEq(w, L"wide") ||
        IMPCALL(_snscanf_s)("123456", 2, "%d", &x) != 1 || x != 12 ||
        IMPCALL(_snwscanf_s)(L"99 ", 3, L"%lld", &ll) != 1 || ll != 99 ||
        IMPCALL(sscanf_s)("", "%d", &x) != -1)
        return HV_FAIL(0x12);

    /* plain copies, concatenation, comparisons */
    if (IMPCALL(strcpy)(a, "ab") != a || IMPCALL(strcat)(a, "cd") != a || IMPCALL(strncat)(a, "efgh", 2) != a ||
        !AEq(a, "abcdef") || IMPCALL(strcmp)(a, "abcdeg") >= 0 || IMPCALL(_stricmp)(a, "ABCDEF") != 0 ||
        IMPCALL(strchr)(a, 'd') != a + 3 || IMPCALL(strchr)(a, 0) != a + 6 ||
        IMPCALL(memcmp)("ab\x80", "ab\x01", 3) <= 0)
        return HV_FAIL(0x13);
    IMPCALL(memset)(b, 'x', sizeof(b));
    if (IMPCALL(strncpy)(b, "hi", 5) != b || b[2] != 0 || b[4] != 0 || b[5] != 'x')
        return HV_FAIL(0x13);
    w2[3] = L'#';
    if (IMPCALL(wcsncpy)(w2, L"wide", 3) != w2 || w2[2] != L'd' || w2[3] != L'#')
        return HV_FAIL(0x13);
    IMPCALL(wcscpy)(w, L"x");
    if (IMPCALL(wcscat)(w, L"yz") != w || IMPCALL(wcsncat)(w, L"0123", 2) != w || !WEq(w, L"xyz01") ||
        IMPCALL(wcscmp)(w, L"xyz01") != 0 || IMPCALL(wcscmp)(L"\xFFFF", L"a") <= 0 || IMPCALL(wcsspn)(w, L"zyx") != 3)
        return HV_FAIL(0x13);

    /* the other _s copies, in-place set and case routines */
    if (IMPCALL(wcsncpy_s)(w, 4, L"abcdef", TRUNCATE_) != STRUNCATE_ || !WEq(w, L"abc") ||
        IMPCALL(wcscat_s)(w, 6, L"de") != 0 || !WEq(w, L"abcde") || IMPCALL(wcscat_s)(w, 6, L"f") != ERANGE_ ||
        IMPCALL(strcpy_s)(a, sizeof(a), "ab") != 0 || IMPCALL(strncat_s)(a, sizeof(a), "cdef", 2) != 0 ||
        !AEq(a, "abcd"))
        return HV_FAIL(0x14);
    IMPCALL(strcpy_s)(a, sizeof(a), "MiX");
    IMPCALL(wcscpy_s)(w, 32, L"MiX");
    if (IMPCALL(_strlwr)(a) != a || !AEq(a, "mix") || IMPCALL(_wcsupr)(w) != w || !WEq(w, L"MIX") ||
        IMPCALL(wcslwr)(w) != w || !WEq(w, L"mix") || IMPCALL(_wcsrev)(w) != w || !WEq(w, L"xim"))
        return HV_FAIL(0x14);
    IMPCALL(strcpy_s)(a, sizeof(a), "ABC");
    if (IMPCALL(strlwr)(a) != a || !AEq(a, "abc") || IMPCALL(_strnset)(a, '*', 2) != a || !AEq(a, "**c") ||
        IMPCALL(_strset)(a, '-') != a || !AEq(a, "---") || IMPCALL(_wcsnset)(w, L'+', 9) != w || !WEq(w, L"+++"))
        return HV_FAIL(0x14);
    if (IMPCALL(_strset_s)(a, sizeof(a), 'z') != 0 || !AEq(a, "zzz") ||
        IMPCALL(_strnset_s)(a, sizeof(a), 'y', 1) != 0 ||
        !AEq(a, "yzz") || IMPCALL(_wcsset_s)(w, 32, L'q') != 0 || !WEq(w, L"qqq") ||
        IMPCALL(_wcsnset_s)(w, 32, L'r', 2) != 0 || !WEq(w, L"rrq") || IMPCALL(_strset_s)(a, 3, 'z') != EINVAL_)
        return HV_FAIL(0x14);

    /* the other conversions and classes */
    if (!IMPCALL(isdigit)('7') || IMPCALL(isdigit)('a') || !IMPCALL(islower)('q') || IMPCALL(islower)('Q') ||
        !IMPCALL(isupper)('Q') || !IMPCALL(isprint)(' ') || IMPCALL(isprint)('\n') || IMPCALL(tolower)('Q') != 'q' ||
        IMPCALL(towupper)(L'q') != L'Q' || IMPCALL(atol)("-123456") != -123456L || IMPCALL(_wtoi)(L"  88x") != 88)
        return HV_FAIL(0x15);
    if (IMPCALL(_itow)(-9, w, 10) != w || !WEq(w, L"-9") || IMPCALL(_itow_s)(255, w, 32, 16) != 0 || !WEq(w, L"ff") ||
        IMPCALL(_ltoa_s)(-2147483647L - 1, a, sizeof(a), 10) != 0 || !AEq(a, "-2147483648") ||
        IMPCALL(_ltow_s)(8, w, 32, 8) != 0 || !WEq(w, L"10") || IMPCALL(_ultow_s)(0xFFFFFFFFul, w, 32, 16) != 0 ||
        !WEq(w, L"ffffffff") || IMPCALL(_i64toa_s)(-1LL, a, sizeof(a), 16) != 0 || !AEq(a, "ffffffffffffffff") ||
        IMPCALL(_ui64toa_s)(18446744073709551615ULL, a, sizeof(a), 10) != 0 || !AEq(a, "18446744073709551615") ||
        IMPCALL(_ui64tow_s)(35, w, 32, 36) != 0 || !WEq(w, L"z"))
        return HV_FAIL(0x15);
    if (IMPCALL(mbtowc)(w, "A", 1) != 1 || w[0] != L'A' || IMPCALL(mbtowc)(w, "", 1) != 0 ||
        IMPCALL(wctomb)(a, L'Z') != 1 || a[0] != 'Z' || IMPCALL(wctomb)(a, 0x263A) != -1)
        return HV_FAIL(0x15);

    /* the other printf forms */
    IMPCALL(memset)(b, 'x', sizeof(b));
    if (IMPCALL(_snprintf)(b, 4, "%d", 1234) != 4 || b[3] != '4' || b[4] != 'x' ||
        IMPCALL(_snprintf)(NULL, 0, "%d-%s", 1234, "abc") != 8 ||
        IMPCALL(sprintf)(a, "%05.1f|%p", 2.25, (void *)0x1234) != 22 || !AEq(a, "002.2|0000000000001234") ||
        IMPCALL(swprintf)(w, L"%hs%c", "n", L'!') != 2 || !WEq(w, L"n!") ||
        IMPCALL(_swprintf)(w, L"%S", "narrow") != 6 || !WEq(w, L"narrow"))
        return HV_FAIL(0x16);
    if (VaForms(a, w, 0, "va", 1) != 4 || !AEq(a, "va-1") || VaForms(a, w, 1, L"wv", 2) != 4 || !WEq(w, L"wv-2") ||
        VaForms(a, w, 2, "long", 3) != -1 || a[0] != 0 || VaForms(a, w, 3, L"s", 4) != 3 || !WEq(w, L"s-4") ||
        VaForms(a, w, 4, "abcd", 5) != -1 || !AEq(a, "abc") || VaForms(a, w, 5, L"xyz", 6) != -1 || !WEq(w, L"xyz") ||
        IMPCALL(_snwprintf_s)(w, 32, 5, L"%08x", 0xABCu) != -1 || !WEq(w, L"00000"))
        return HV_FAIL(0x16);

    /* wide paths */
    if (IMPCALL(_wsplitpath_s)(L"D:\\x\\y.txt", drive, 4, dir, 16, name, 8, ext, 8) != 0 || !WEq(drive, L"D:") ||
        !WEq(dir, L"\\x\\") || !WEq(name, L"y") || !WEq(ext, L".txt") ||
        IMPCALL(_wmakepath_s)(w, 32, L"E", L"dir/", L"f", L".log") != 0 || !WEq(w, L"E:dir/f.log"))
        return HV_FAIL(0x17);
    return STATUS_SUCCESS;
}

static NTSTATUS Run(VOID)
{
    wchar_t w[32], w2[32];
    char a[48], b[16], drive[4], dir[32], name[16], ext[8];
    char *ctx, *tok, *end;
    wchar_t *wend;
    int n;

    /* comparisons */
    if (IMPCALL(wcsncmp)(L"driverA", L"driverB", 6) != 0 || IMPCALL(wcsncmp)(L"driverA", L"driverB", 7) >= 0 ||
        IMPCALL(_strnicmp)("HVCI_x", "hvci_Y", 5) != 0 || IMPCALL(_strnicmp)("a", "B", 1) >= 0 ||
        IMPCALL(_wcsicmp)(L"\\SystemRoot", L"\\SYSTEMROOT") != 0 || IMPCALL(strncmp)("ab\xff", "ab\x01", 3) <= 0)
        return HV_FAIL(1);

    /* wcscpy_s / wcsncat_s */
    if (IMPCALL(wcscpy_s)(w, 32, L"\\Device\\") != 0 || IMPCALL(wcsncat_s)(w, 32, L"HvciCrtXYZ", 7) != 0 ||
        !WEq(w, L"\\Device\\HvciCrt"))
        return HV_FAIL(2);
    if (IMPCALL(wcsncat_s)(w, 16, L"overflow", TRUNCATE_) != STRUNCATE_ || !WEq(w, L"\\Device\\HvciCrt"))
        return HV_FAIL(2);
    if (IMPCALL(wcscpy_s)(w2, 4, L"four") != ERANGE_ || w2[0] != 0)
        return HV_FAIL(2);

    /* strcpy_s / strncpy_s / strcat_s */
    if (IMPCALL(strcpy_s)(a, sizeof(a), "abc") != 0 || IMPCALL(strcat_s)(a, sizeof(a), "def") != 0 || !AEq(a, "abcdef"))
        return HV_FAIL(3);
    if (IMPCALL(strncpy_s)(b, 4, "truncated", TRUNCATE_) != STRUNCATE_ || !AEq(b, "tru"))
        return HV_FAIL(3);
    if (IMPCALL(strcat_s)(b, 5, "xy") != ERANGE_ || b[0] != 0 || IMPCALL(strcpy_s)(NULL, 4, "x") != EINVAL_)
        return HV_FAIL(3);

    /* searches */
    {
        static const wchar_t path[] = L"\\SystemRoot\\System32\\drivers\\crt.sys";
        static const char text[] = "key=value;key2=v2";
        if (IMPCALL(wcsrchr)(path, L'\\') != path + 28 || IMPCALL(wcschr)(path, L'Q') != NULL ||
            IMPCALL(strrchr)(text, '=') != text + 14 || IMPCALL(strstr)(text, "key2") != text + 10 ||
            IMPCALL(wcsstr)(path, L"drivers") != path + 21 || IMPCALL(strspn)(text, "eky") != 3 ||
            IMPCALL(wcscspn)(path + 1, L"\\") != 10)
            return HV_FAIL(4);
    }

    /* _vsnwprintf / _vsnprintf through a driver's own variadic wrapper */
    n = WFormat(w, 32, L"%ws:%08X:%hs", L"dev", 0xBEEFu, "ok");
    if (n != 15 || !WEq(w, L"dev:0000BEEF:ok"))
        return HV_FAIL(5);
    w2[5] = 0x7777;
    if (WFormat(w2, 5, L"%d", 1234567) != -1 || w2[4] != L'5' || w2[5] != 0x7777)
        return HV_FAIL(5);
    n = AFormat(a, sizeof(a), "%-6s|%5.2s|%I64u|%c", "ab", "xyz", 18446744073709551615ULL, 'q');
    if (n != 35 || !AEq(a, "ab    |   xy|18446744073709551615|q"))
        return HV_FAIL(5);

    /* _snprintf_s / sprintf_s / swprintf_s */
    if (IMPCALL(_snprintf_s)(b, sizeof(b), TRUNCATE_, "%s", "0123456789abcdefXYZ") != -1 || !AEq(b, "0123456789abcde"))
        return HV_FAIL(6);
    if (IMPCALL(sprintf_s)(b, 4, "%d", 12345) != -1 || b[0] != 0)
        return HV_FAIL(6);
    if (IMPCALL(swprintf_s)(w, 32, L"%s=%u", L"n", 7u) != 3 || !WEq(w, L"n=7"))
        return HV_FAIL(6);

    /* integer to text */
    if (IMPCALL(_itoa_s)(-42, b, sizeof(b), 10) != 0 || !AEq(b, "-42") ||
        IMPCALL(_i64tow_s)(-1234567890123LL, w, 32, 10) != 0 || !WEq(w, L"-1234567890123") ||
        IMPCALL(_ultoa_s)(0xCAFEu, b, 3, 16) != ERANGE_ || IMPCALL(_itoa)(255, b, 2) != b || !AEq(b, "11111111"))
        return HV_FAIL(7);

    /* text to integer */
    if (IMPCALL(atoi)("  -17abc") != -17 || IMPCALL(_wtol)(L"+2147483647") != 2147483647L ||
        IMPCALL(_strtoui64)("0x1234567890ABCDEFz", &end, 0) != 0x1234567890ABCDEFULL || *end != 'z' ||
        IMPCALL(wcstoul)(L"777 ", &wend, 8) != 511 || *wend != L' ')
        return HV_FAIL(8);

    /* character classes and case */
    if (!IMPCALL(isxdigit)('F') || IMPCALL(isxdigit)('g') || !IMPCALL(isspace)('\t') || IMPCALL(isspace)(0xA0) ||
        IMPCALL(toupper)('q') != 'Q' || IMPCALL(toupper)('{') != '{' || IMPCALL(towlower)(L'Z') != L'z')
        return HV_FAIL(9);

    /* in place */
    IMPCALL(strcpy_s)(a, sizeof(a), "MiXed1");
    IMPCALL(wcscpy_s)(w, 32, L"MiXed2");
    if (IMPCALL(_strupr)(a) != a || !AEq(a, "MIXED1") || IMPCALL(_wcslwr)(w) != w || !WEq(w, L"mixed2") ||
        IMPCALL(_strrev)(a) != a || !AEq(a, "1DEXIM"))
        return HV_FAIL(10);

    /* multibyte */
    if (IMPCALL(mbstowcs)(w, "narrow", 32) != 6 || !WEq(w, L"narrow") ||
        IMPCALL(wcstombs)(b, L"back", sizeof(b)) != 4 || !AEq(b, "back") || IMPCALL(mbstowcs)(NULL, "len7abc", 0) != 7)
        return HV_FAIL(11);

    /* memory */
    {
        static const char blob[] = "0123456789";
        if (IMPCALL(memchr)(blob, '7', 10) != blob + 7 || IMPCALL(memchr)(blob, '7', 7) != NULL)
            return HV_FAIL(12);
        if (IMPCALL(memcpy_s)(b, sizeof(b), blob, 11) != 0 || !AEq(b, blob) ||
            IMPCALL(memmove_s)(b + 1, sizeof(b) - 1, b, 5) != 0 || !AEq(b, "0012346789") ||
            IMPCALL(memcpy_s)(b, 4, blob, 8) != ERANGE_ || b[0] != 0 || b[3] != 0)
            return HV_FAIL(12);
    }

    /* strtok_s */
    IMPCALL(strcpy_s)(a, sizeof(a), " one,two ,,three");
    tok = IMPCALL(strtok_s)(a, " ,", &ctx);
    if (tok == NULL || !AEq(tok, "one"))
        return HV_FAIL(13);
    tok = IMPCALL(strtok_s)(NULL, " ,", &ctx);
    if (tok == NULL || !AEq(tok, "two"))
        return HV_FAIL(13);
    tok = IMPCALL(strtok_s)(NULL, " ,", &ctx);
    if (tok == NULL || !AEq(tok, "three") || IMPCALL(strtok_s)(NULL, " ,", &ctx) != NULL)
        return HV_FAIL(13);

    /* paths */
    if (IMPCALL(_splitpath_s)("C:\\Windows\\System32\\crt.sys", drive, sizeof(drive), dir, sizeof(dir),
                              name, sizeof(name), ext, sizeof(ext)) != 0 ||
        !AEq(drive, "C:") || !AEq(dir, "\\Windows\\System32\\") || !AEq(name, "crt") || !AEq(ext, ".sys"))
        return HV_FAIL(14);
    if (IMPCALL(_makepath_s)(a, sizeof(a), "D", "\\logs", "crt", "txt") != 0 || !AEq(a, "D:\\logs\\crt.txt"))
        return HV_FAIL(14);

    /* rand: Microsoft's linear congruential generator */
    IMPCALL(srand)(1);
    if (IMPCALL(rand)() != 41 || IMPCALL(rand)() != 18467 || IMPCALL(rand)() != 6334)
        return HV_FAIL(15);

    if (IMPCALL(strnlen)("abcdef", 4) != 4 || IMPCALL(strnlen)("ab", 4) != 2 || IMPCALL(wcsnlen)(L"wide", 9) != 4)
        return HV_FAIL(16);
    return RunMore();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS st;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    st = Run();
    DbgPrint("crt: 0x%08X\n", st);
    return st;
}
