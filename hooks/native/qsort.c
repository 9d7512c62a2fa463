/*
 * qsort as ntoskrnl exports it, run as machine code in the emulated kernel's stub area so that
 * the driver's comparator is an ordinary call from kernel code (a Python handler cannot call
 * back into the guest). Heapsort: no recursion, constant stack, O(n log n) comparisons; like
 * Microsoft's qsort it is not stable. Built by build.sh into hooks/crt_native.py.
 */
typedef unsigned long long size_t;
typedef int (*compare_fn)(const void *, const void *);

static inline __attribute__((always_inline)) void swap(char *a, char *b, size_t width)
{
    while (width--) {
        char t = *a;
        *a++ = *b;
        *b++ = t;
    }
}

/* Move the element at `root` down until the heap below it is ordered (largest at the top). */
static inline __attribute__((always_inline)) void sift(char *base, size_t root, size_t count, size_t width,
                                                       compare_fn compare)
{
    for (;;) {
        size_t child = 2 * root + 1, largest = root;
        if (child < count && compare(base + child * width, base + largest * width) > 0)
            largest = child;
        if (child + 1 < count && compare(base + (child + 1) * width, base + largest * width) > 0)
            largest = child + 1;
        if (largest == root)
            return;
        swap(base + root * width, base + largest * width, width);
        root = largest;
    }
}

void qsort(void *base, size_t count, size_t width, compare_fn compare)
{
    char *b = (char *)base;
    size_t i;

    if (count < 2 || width == 0)
        return;
    for (i = count / 2; i-- > 0;)
        sift(b, i, count, width, compare);
    for (i = count - 1; i > 0; i--) {
        swap(b, b + i * width, width);
        sift(b, 0, i, width, compare);
    }
}
