/* Reached only through a forwarder of minidll.dll (MiniFwd ->
 * minifwd.MiniFwdTarget): the loader loads it while binding imports. */
int __attribute__((stdcall)) MiniFwdMain(void *base, unsigned long reason, void *reserved) { return 1; }
long __attribute__((stdcall)) MiniFwdTarget(long x) { return x + 1000; }
