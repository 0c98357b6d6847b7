package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runCerts writes the cluster's PKI (one CA signs everything) and the
// kubeconfigs of the admin and of each component. Files that exist are kept,
// so a rerun changes nothing; a kubeconfig is rewritten only when its text
// would differ (say, a new server URL).
func runCerts(args []string) int {
	fs := flag.NewFlagSet("certs", flag.ExitOnError)
	dir := fs.String("dir", "/var/lib/loop-k8s/pki", "where certificates and keys go")
	kdir := fs.String("kubeconfig-dir", "/var/lib/loop-k8s", "where the kubeconfigs go")
	node := fs.String("node", "localhost", "the node name (the kubelet's hostname-override)")
	nodeIP := fs.String("node-ip", "", "the node's IP (a SAN of the kubelet's serving certificate)")
	server := fs.String("server", "https://127.0.0.1:16443", "the apiserver's URL in the kubeconfigs")
	serviceIP := fs.String("service-ip", "10.96.0.1", "the kubernetes Service's ClusterIP (a SAN of the apiserver's certificate)")
	context := fs.String("context", "loop-test", "the admin kubeconfig's context and cluster name")
	fs.Parse(args[1:])
	if err := writeCerts(*dir, *kdir, *node, *nodeIP, *server, *serviceIP, *context); err != nil {
		fmt.Fprintln(os.Stderr, "certs:", err)
		return 1
	}
	return 0
}

type pair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func writeCerts(dir, kdir, node, nodeIP, server, serviceIP, ctxName string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := loadOrCreate(dir, "ca", nil, x509.Certificate{
		Subject:               pkix.Name{CommonName: "loop-k8s-ca"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
	})
	if err != nil {
		return err
	}
	ips := func(s ...string) []net.IP {
		var out []net.IP
		for _, x := range s {
			if ip := net.ParseIP(x); ip != nil {
				out = append(out, ip)
			}
		}
		return out
	}
	server509 := func(cn string, dns []string, ip []net.IP) x509.Certificate {
		return x509.Certificate{
			Subject:     pkix.Name{CommonName: cn},
			DNSNames:    dns,
			IPAddresses: ip,
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
	}
	client509 := func(cn string, org ...string) x509.Certificate {
		return x509.Certificate{
			Subject:     pkix.Name{CommonName: cn, Organization: org},
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
	}
	specs := []struct {
		name string
		tmpl x509.Certificate
	}{
		{"apiserver", server509("kube-apiserver",
			[]string{"localhost", node, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			ips("127.0.0.1", serviceIP, nodeIP))},
		{"kubelet", server509(node, []string{"localhost", node}, ips("127.0.0.1", nodeIP))},
		{"apiserver-kubelet-client", client509("kube-apiserver-kubelet-client", "system:masters")},
		{"admin", client509("kubernetes-admin", "system:masters")},
		{"kube-controller-manager", client509("system:kube-controller-manager")},
		{"kube-scheduler", client509("system:kube-scheduler")},
		{"kubelet-client", client509("system:node:"+node, "system:nodes")},
	}
	pairs := map[string]pair{}
	for _, s := range specs {
		p, err := loadOrCreate(dir, s.name, &ca, s.tmpl)
		if err != nil {
			return err
		}
		pairs[s.name] = p
	}
	// The service account token signing key pair.
	if _, err := os.Stat(filepath.Join(dir, "sa.key")); errors.Is(err, os.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return err
		}
		if err := writePEM(filepath.Join(dir, "sa.pub"), "PUBLIC KEY", pub, 0o644); err != nil {
			return err
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return err
		}
		if err := writePEM(filepath.Join(dir, "sa.key"), "EC PRIVATE KEY", der, 0o600); err != nil {
			return err
		}
	}

	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	for file, who := range map[string]string{
		"kubeconfig":                         "admin",
		"kube-controller-manager.kubeconfig": "kube-controller-manager",
		"kube-scheduler.kubeconfig":          "kube-scheduler",
		"kubelet.kubeconfig":                 "kubelet-client",
	} {
		p := pairs[who]
		keyDER, err := x509.MarshalECPrivateKey(p.key)
		if err != nil {
			return err
		}
		text := kubeconfig(ctxName, server, who, caPEM,
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Raw}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
		path := filepath.Join(kdir, file)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, text) {
			continue
		}
		if err := writeAtomic(path, text, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func kubeconfig(ctxName, server, user string, ca, cert, key []byte) []byte {
	b64 := base64.StdEncoding.EncodeToString
	var sb strings.Builder
	fmt.Fprintf(&sb, `apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
    certificate-authority-data: %[4]s
users:
- name: %[3]s
  user:
    client-certificate-data: %[5]s
    client-key-data: %[6]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[3]s
current-context: %[1]s
`, ctxName, server, user, b64(ca), b64(cert), b64(key))
	return []byte(sb.String())
}

// loadOrCreate returns NAME.crt and NAME.key from dir, creating them (signed
// by ca, or self-signed when ca is nil) when either is missing.
func loadOrCreate(dir, name string, ca *pair, tmpl x509.Certificate) (pair, error) {
	certPath, keyPath := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if cb, err := os.ReadFile(certPath); err == nil {
		if kb, err := os.ReadFile(keyPath); err == nil {
			cBlock, _ := pem.Decode(cb)
			kBlock, _ := pem.Decode(kb)
			if cBlock != nil && kBlock != nil {
				c, err1 := x509.ParseCertificate(cBlock.Bytes)
				k, err2 := x509.ParseECPrivateKey(kBlock.Bytes)
				if err1 == nil && err2 == nil {
					return pair{c, k}, nil
				}
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return pair{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return pair{}, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().AddDate(10, 0, 0)
	parent, signer := &tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return pair{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return pair{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return pair{}, err
	}
	if err := writePEM(keyPath, "EC PRIVATE KEY", keyDER, 0o600); err != nil {
		return pair{}, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return pair{}, err
	}
	return pair{cert, key}, nil
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return writeAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func writeAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
