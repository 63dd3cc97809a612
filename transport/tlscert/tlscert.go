// Package tlscert makes the self-signed certificates `rtbench serve --tls`
// and the TLS interop tests serve with: one ECDSA P-256 key, a certificate
// for the loopback names, and the SHA-256 fingerprint a user compares.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// DefaultHosts are the names a generated certificate is valid for when none
// are given: the loopback addresses and localhost.
var DefaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// DefaultValidity is how long a generated certificate is valid: a serve
// session, with room to spare; it is made anew at each start.
const DefaultValidity = 7 * 24 * time.Hour

// Cert is a generated certificate.
type Cert struct {
	TLS     tls.Certificate // to serve with
	CertPEM []byte          // the certificate: what --cacert (or curl --cacert) trusts
	KeyPEM  []byte          // its private key
	// Fingerprint is the SHA-256 of the certificate's DER bytes, as
	// colon-separated hex pairs (openssl x509 -fingerprint -sha256).
	Fingerprint string
	Hosts       []string
	NotAfter    time.Time
}

// Generate makes a self-signed certificate, its own CA, for hosts (IP
// addresses and DNS names; nil: DefaultHosts), valid from now for validity
// (0: DefaultValidity).
func Generate(hosts []string, validity time.Duration) (*Cert, error) {
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	if validity <= 0 {
		validity = DefaultValidity
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating a serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "rtbench serve (self-signed)", Organization: []string{"rtbench"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("signing the certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the key: %w", err)
	}
	c := &Cert{
		CertPEM:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:      pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		Fingerprint: Fingerprint(der),
		Hosts:       hosts,
		NotAfter:    tmpl.NotAfter,
	}
	if c.TLS, err = tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
		return nil, fmt.Errorf("loading the generated pair: %w", err)
	}
	return c, nil
}

// Fingerprint is the SHA-256 of a certificate's DER bytes as
// colon-separated upper-case hex pairs, as browsers and openssl show it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
