package supervise

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
)

// ErrDynamic says why a binary cannot be the supervisor: it needs a
// dynamic loader and libc, which an arbitrary image may not have.
var ErrDynamic = errors.New("dynamically linked (built with cgo), so it cannot run inside containers")

// ErrArch says a binary is for another architecture than the engine's.
var ErrArch = errors.New("built for another architecture than the container engine's")

// ErrNotLinux says a file is not a Linux ELF executable.
var ErrNotLinux = errors.New("not a Linux ELF executable")

// machines maps a GOARCH to its ELF machine, class and byte order.
var machines = map[string]struct {
	machine elf.Machine
	class   elf.Class
	data    elf.Data
}{
	"amd64":   {elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB},
	"arm64":   {elf.EM_AARCH64, elf.ELFCLASS64, elf.ELFDATA2LSB},
	"386":     {elf.EM_386, elf.ELFCLASS32, elf.ELFDATA2LSB},
	"arm":     {elf.EM_ARM, elf.ELFCLASS32, elf.ELFDATA2LSB},
	"ppc64le": {elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2LSB},
	"s390x":   {elf.EM_S390, elf.ELFCLASS64, elf.ELFDATA2MSB},
	"riscv64": {elf.EM_RISCV, elf.ELFCLASS64, elf.ELFDATA2LSB},
}

// Binary is what an ELF file says about itself.
type Binary struct {
	Arch   string // GOARCH, or the ELF machine name when loop does not know it
	Static bool   // no ELF interpreter: runs without a loader or libc
}

// Inspect reads p's ELF header: a Linux executable, its architecture and
// whether it is static. It fails with ErrNotLinux for anything else (a
// Mach-O loopd on macOS, a script).
func Inspect(p string) (Binary, error) {
	f, err := elf.Open(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // missing, unreadable
			return Binary{}, err
		}
		return Binary{}, fmt.Errorf("%s: %w (%v)", p, ErrNotLinux, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return Binary{}, fmt.Errorf("%s: %w (ELF type %v)", p, ErrNotLinux, f.Type)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return Binary{}, fmt.Errorf("%s: %w (OS ABI %v)", p, ErrNotLinux, f.OSABI)
	}
	b := Binary{Arch: f.Machine.String(), Static: true}
	for arch, m := range machines {
		if m.machine == f.Machine && m.class == f.Class && m.data == f.Data {
			b.Arch = arch
		}
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			b.Static = false
		}
	}
	if f.Section(".interp") != nil {
		b.Static = false
	}
	return b, nil
}

// Check fails unless p is a static Linux executable for arch (a GOARCH):
// one that can be the supervisor of that engine's containers.
func Check(p, arch string) (Binary, error) {
	b, err := Inspect(p)
	if err != nil {
		return b, err
	}
	if !b.Static {
		return b, fmt.Errorf("%s: %w", p, ErrDynamic)
	}
	if b.Arch != arch {
		return b, fmt.Errorf("%s: %w (it is %s, the engine is %s)", p, ErrArch, b.Arch, arch)
	}
	return b, nil
}
