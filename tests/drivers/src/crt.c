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
    return STATUS_SUCCESS;
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
