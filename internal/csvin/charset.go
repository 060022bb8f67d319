package csvin

import (
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// decodeUTF16 decodes UTF-16 that starts with its byte order mark.
func decodeUTF16(b []byte) (string, error) {
	out, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(b)
	if err != nil {
		return "", unreadable("the file is not valid UTF-16: %v", err)
	}
	return string(out), nil
}

// decodeWindows1252 decodes Windows-1252, which has a character for
// nearly every byte: a file that is no valid UTF-8 is taken for it.
func decodeWindows1252(b []byte) (string, error) {
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return "", unreadable("the file is neither UTF-8 nor Windows-1252: %v", err)
	}
	return string(out), nil
}
