/* bcryptprimitives.dll for Wine 8, which lacks it: Go 1.24 and later read
 * random bytes with ProcessPrng from it at start-up. Built by
 * scripts/setup-wine.sh with mingw-w64; RtlGenRandom (advapi32's
 * SystemFunction036) supplies the bytes. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!RtlGenRandom(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
