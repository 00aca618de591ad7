// Command kindconfig reads kind cluster configuration files the way kind
// v0.30.0 does (apiVersion and kind first, then a strict decode into its
// public v1alpha4 types, so an unknown or misspelt field is an error) and
// prints each decoded configuration as one JSON line, for the offline checks
// in tests/k8s to inspect.
//
//	go run . FILE...
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

const apiVersion = "kind.x-k8s.io/v1alpha4"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kindconfig FILE...")
		os.Exit(2)
	}
	failed := false
	for _, path := range os.Args[1:] {
		cluster, err := load(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed = true
			continue
		}
		line, err := json.Marshal(cluster)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed = true
			continue
		}
		fmt.Println(string(line))
	}
	if failed {
		os.Exit(1)
	}
}

func load(path string) (*v1alpha4.Cluster, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	var meta struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
	}
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	if meta.APIVersion != apiVersion || meta.Kind != "Cluster" {
		return nil, fmt.Errorf("want apiVersion %s and kind Cluster, got %q and %q",
			apiVersion, meta.APIVersion, meta.Kind)
	}

	cluster := &v1alpha4.Cluster{}
	decoder := yaml.NewDecoder(bytes.NewReader(raw))
	decoder.KnownFields(true)
	if err := decoder.Decode(cluster); err != nil {
		return nil, fmt.Errorf("not a kind %s Cluster: %w", apiVersion, err)
	}
	return cluster, nil
}
