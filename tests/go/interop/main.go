// Command interop checks our checkpoints and proofs with Go's own golang.org/x/mod/sumdb packages
// (tests/test_go_interop.py builds and runs it). It reads one JSON request on standard input and
// writes one JSON answer: what note.Open says of each signed note, what tlog computes for our log's
// leaves (roots and proofs, to compare byte for byte with ours), what tlog.CheckRecord and
// tlog.CheckTree say of our proofs, and a key made and a note signed by note.GenerateKey / note.Sign.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Vkey        string        `json:"vkey"`
	Notes       []string      `json:"notes"`
	Leaves      []string      `json:"leaves"` // the events' stored hashes, hex, in position order
	Roots       []int64       `json:"roots"`  // tree sizes
	Inclusion   []inclusion   `json:"inclusion"`
	Consistency []consistency `json:"consistency"`
	Generate    string        `json:"generate"` // a key name
	SignText    string        `json:"sign_text"`
}

type inclusion struct {
	Index int64    `json:"index"`
	Size  int64    `json:"size"`
	Root  string   `json:"root"`
	Leaf  string   `json:"leaf"`
	Proof []string `json:"proof"`
}

type consistency struct {
	Old     int64    `json:"old"`
	New     int64    `json:"new"`
	OldRoot string   `json:"old_root"`
	NewRoot string   `json:"new_root"`
	Proof   []string `json:"proof"`
}

type opened struct {
	OK         bool     `json:"ok"`
	Error      string   `json:"error,omitempty"`
	Text       string   `json:"text,omitempty"`
	Signers    []string `json:"signers,omitempty"`
	Unverified []string `json:"unverified,omitempty"`
}

type checked struct {
	OK       bool     `json:"ok"`
	Error    string   `json:"error,omitempty"`
	GoProof  []string `json:"go_proof"`
	GoLeaf   string   `json:"go_leaf,omitempty"`
	ProveErr string   `json:"prove_error,omitempty"`
}

type answer struct {
	Notes       []opened          `json:"notes"`
	Roots       map[string]string `json:"roots"`
	Inclusion   []checked         `json:"inclusion"`
	Consistency []checked         `json:"consistency"`
	Skey        string            `json:"skey,omitempty"`
	GoVkey      string            `json:"go_vkey,omitempty"`
	Signed      string            `json:"signed,omitempty"`
}

func hash(text string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(raw) != len(h) {
		return h, fmt.Errorf("not a base64 hash of 32 bytes: %q", text)
	}
	copy(h[:], raw)
	return h, nil
}

func hashes(texts []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(texts))
	for i, text := range texts {
		h, err := hash(text)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

func encode(list []tlog.Hash) []string {
	out := make([]string, len(list))
	for i, h := range list {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "request:", err)
		os.Exit(2)
	}
	ans := answer{Roots: map[string]string{}}

	for _, msg := range req.Notes {
		verifier, err := note.NewVerifier(req.Vkey)
		if err != nil {
			ans.Notes = append(ans.Notes, opened{Error: "vkey: " + err.Error()})
			continue
		}
		n, err := note.Open([]byte(msg), note.VerifierList(verifier))
		if err != nil {
			ans.Notes = append(ans.Notes, opened{Error: err.Error()})
			continue
		}
		o := opened{OK: true, Text: n.Text}
		for _, s := range n.Sigs {
			o.Signers = append(o.Signers, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		for _, s := range n.UnverifiedSigs {
			o.Unverified = append(o.Unverified, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		ans.Notes = append(ans.Notes, o)
	}

	// The stored hashes of a tree over our leaves, as tlog computes them: the record data is raw32(hash).
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	records := make([]tlog.Hash, len(req.Leaves))
	for i, text := range req.Leaves {
		data, err := hex.DecodeString(text)
		if err != nil || len(data) != 32 {
			fmt.Fprintln(os.Stderr, "leaf", i, "is not 64 hex digits")
			os.Exit(2)
		}
		records[i] = tlog.RecordHash(data)
		more, err := tlog.StoredHashes(int64(i), data, reader)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		stored = append(stored, more...)
	}
	for _, size := range req.Roots {
		root, err := tlog.TreeHash(size, reader)
		if err != nil {
			ans.Roots[fmt.Sprint(size)] = "error: " + err.Error()
			continue
		}
		ans.Roots[fmt.Sprint(size)] = base64.StdEncoding.EncodeToString(root[:])
	}

	for _, c := range req.Inclusion {
		out := checked{}
		if proof, err := hashes(c.Proof); err != nil {
			out.Error = err.Error()
		} else if root, err := hash(c.Root); err != nil {
			out.Error = err.Error()
		} else if leaf, err := hash(c.Leaf); err != nil {
			out.Error = err.Error()
		} else if err := tlog.CheckRecord(proof, c.Size, root, c.Index, leaf); err != nil {
			out.Error = err.Error()
		} else {
			out.OK = true
		}
		if c.Size <= int64(len(records)) && c.Index < c.Size {
			mine, err := tlog.ProveRecord(c.Size, c.Index, reader)
			if err != nil {
				out.ProveErr = err.Error()
			}
			out.GoProof = encode(mine)
			out.GoLeaf = base64.StdEncoding.EncodeToString(records[c.Index][:])
		}
		ans.Inclusion = append(ans.Inclusion, out)
	}

	for _, c := range req.Consistency {
		out := checked{}
		if proof, err := hashes(c.Proof); err != nil {
			out.Error = err.Error()
		} else if oldRoot, err := hash(c.OldRoot); err != nil {
			out.Error = err.Error()
		} else if newRoot, err := hash(c.NewRoot); err != nil {
			out.Error = err.Error()
		} else if err := tlog.CheckTree(proof, c.New, newRoot, c.Old, oldRoot); err != nil {
			out.Error = err.Error()
		} else {
			out.OK = true
		}
		if c.New <= int64(len(records)) && c.Old >= 1 && c.Old <= c.New {
			mine, err := tlog.ProveTree(c.New, c.Old, reader)
			if err != nil {
				out.ProveErr = err.Error()
			}
			out.GoProof = encode(mine)
		}
		ans.Consistency = append(ans.Consistency, out)
	}

	if req.Generate != "" {
		skey, vkey, err := note.GenerateKey(rand.Reader, req.Generate)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		signer, err := note.NewSigner(skey)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		msg, err := note.Sign(&note.Note{Text: req.SignText}, signer)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ans.Skey, ans.GoVkey, ans.Signed = skey, vkey, string(msg)
	}

	if err := json.NewEncoder(os.Stdout).Encode(ans); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
