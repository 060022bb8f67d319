package openaitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Limits of OpenAI's Batch API.
const (
	// MaxFileBytes is the largest batch input file the Files API takes.
	MaxFileBytes = 200 << 20
	// MaxBatchLines is the most requests one batch may hold.
	MaxBatchLines = 50_000
)

// file is one stored file, as GET /v1/files/{id} shows it, and its bytes.
type file struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Bytes     int    `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`

	data []byte
}

// storeFile keeps data as a new file. The caller holds h.bmu.
func (h *Handler) storeFile(name, purpose string, data []byte) *file {
	h.fileSeq++
	f := &file{
		ID:        "file-openaitest-" + strconv.Itoa(h.fileSeq),
		Object:    "file",
		Bytes:     len(data),
		CreatedAt: h.now().Unix(),
		Filename:  name,
		Purpose:   purpose,
		Status:    "processed",
		data:      data,
	}
	h.files[f.ID] = f
	return f
}

// uploadFile serves POST /v1/files: a multipart form with purpose "batch"
// and a .jsonl file of JSON objects, one a line. Each line's request is
// checked when a batch over the file is validated, as OpenAI does.
func (h *Handler) uploadFile(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFileBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		h.batchError(w, http.StatusBadRequest, "The request must be multipart/form-data: "+err.Error(), "")
		return
	}
	var purpose, name string
	var data []byte
	haveFile := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			h.batchError(w, http.StatusBadRequest, "Could not read the multipart form: "+err.Error(), "")
			return
		}
		switch part.FormName() {
		case "purpose":
			b, err := io.ReadAll(io.LimitReader(part, 100))
			if err != nil {
				h.batchError(w, http.StatusBadRequest, "Could not read 'purpose': "+err.Error(), "purpose")
				return
			}
			purpose = string(b)
		case "file":
			name, haveFile = part.FileName(), true
			if data, err = io.ReadAll(part); err != nil {
				h.batchError(w, http.StatusRequestEntityTooLarge,
					"The file is larger than the 200 MB the Batch API takes, or could not be read: "+err.Error(), "file")
				return
			}
		}
	}
	switch {
	case purpose == "":
		h.batchError(w, http.StatusBadRequest, "Missing required parameter: 'purpose'.", "purpose")
		return
	case purpose != "batch":
		h.batchError(w, http.StatusBadRequest, "Invalid value for 'purpose': openaitest stores only 'batch' files, got '"+purpose+"'.", "purpose")
		return
	case !haveFile:
		h.batchError(w, http.StatusBadRequest, "Missing required parameter: 'file'.", "file")
		return
	case len(data) > MaxFileBytes:
		h.batchError(w, http.StatusRequestEntityTooLarge, "The file has "+strconv.Itoa(len(data))+" bytes; the Batch API takes up to 200 MB.", "file")
		return
	case !strings.HasSuffix(name, ".jsonl"):
		h.batchError(w, http.StatusBadRequest, "Invalid file format for Batch API. Must be .jsonl, got '"+name+"'.", "file")
		return
	}
	if problem := checkJSONL(data); problem != "" {
		h.batchError(w, http.StatusBadRequest, "Invalid file format for Batch API: "+problem, "file")
		return
	}
	h.bmu.Lock()
	f := h.storeFile(name, purpose, data)
	h.stats.FilesUploaded++
	out := *f
	h.bmu.Unlock()
	writeJSON(w, http.StatusOK, &out)
}

// checkJSONL checks that data is lines of JSON objects: what the Files API
// checks of a batch file on upload.
func checkJSONL(data []byte) string {
	n := 0
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		n++
		if line[0] != '{' || !json.Valid(line) {
			return "line " + strconv.Itoa(i+1) + " is not a JSON object."
		}
	}
	if n == 0 {
		return "the file has no requests."
	}
	return ""
}

// serveFile serves GET and DELETE /v1/files/{id} and GET
// /v1/files/{id}/content.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, id string, content bool) {
	h.bmu.Lock()
	f, ok := h.files[id]
	if ok && r.Method == http.MethodDelete && !content {
		delete(h.files, id)
		h.stats.FilesDeleted++
	}
	h.bmu.Unlock()
	if !ok {
		h.batchError(w, http.StatusNotFound, "No such File object: "+id, "id")
		return
	}
	switch {
	case content:
		// Files are never changed once stored: f.data is read without
		// the lock.
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(f.data)
	case r.Method == http.MethodDelete:
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "file", "deleted": true})
	default:
		out := *f
		writeJSON(w, http.StatusOK, &out)
	}
}

// writeJSON sends v as the JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, appendError(nil, "openaitest: "+err.Error(), "server_error", "")
	}
	writeBody(w, status, b)
}
