package transport

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
)

// Gzipped reports whether a response's body is gzip-compressed
// (Content-Encoding: gzip, or x-gzip).
func Gzipped(h http.Header) bool {
	ce := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	return ce == "gzip" || ce == "x-gzip"
}

// Gunzip decodes a gzip response in place, unless it was decoded already
// (resp.Uncompressed): its Body is then the decoded stream, its length
// unknown, and Uncompressed set; its Content-Encoding header stays, so that
// what the server sent can still be shown and judged. It returns whether
// the body was compressed.
func Gunzip(resp *http.Response) bool {
	if resp.Uncompressed {
		return true
	}
	if !Gzipped(resp.Header) {
		return false
	}
	resp.Body = &gunzipBody{rc: resp.Body}
	resp.Uncompressed = true
	resp.ContentLength = -1
	resp.Header.Del("Content-Length")
	return true
}

// GunzipBody decodes a gzip body, reading the gzip header at the first Read
// so that nothing waits for the first event before it is asked for.
func GunzipBody(rc io.ReadCloser) io.ReadCloser { return &gunzipBody{rc: rc} }

type gunzipBody struct {
	rc  io.ReadCloser
	zr  *gzip.Reader
	err error
}

func (b *gunzipBody) Read(p []byte) (int, error) {
	if b.zr == nil {
		if b.err != nil {
			return 0, b.err
		}
		if b.zr, b.err = gzip.NewReader(b.rc); b.err != nil {
			return 0, b.err
		}
	}
	return b.zr.Read(p)
}

func (b *gunzipBody) Close() error { return b.rc.Close() }
