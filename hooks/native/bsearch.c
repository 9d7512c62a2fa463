/*
 * bsearch as ntoskrnl exports it, run as machine code in the emulated kernel's stub area so that
 * the driver's comparator is an ordinary call from kernel code. Returns a matching element or
 * NULL, as the C standard specifies. Built by build.sh into hooks/crt_native.py.
 */
typedef unsigned long long size_t;
typedef int (*compare_fn)(const void *, const void *);

void *bsearch(const void *key, const void *base, size_t count, size_t width, compare_fn compare)
{
    const char *lo = (const char *)base;

    while (count > 0) {
        const char *mid = lo + (count / 2) * width;
        int order = compare(key, mid);
        if (order == 0)
            return (void *)mid;
        if (order > 0) {
            lo = mid + width;
            count -= count / 2 + 1;
        } else {
            count /= 2;
        }
    }
    return 0;
}
