package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	serializerjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The API groups kefu's manifests may use. A kind outside them (or a misspelled apiVersion) does not
// decode, so it fails the tests.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme, autoscalingv2.AddToScheme,
		networkingv1.AddToScheme, batchv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err) // a broken built-in scheme is a start-up bug, not input
		}
	}
	return s
}()

// strictCodec decodes YAML as the API server does with field validation Strict: an unknown or misspelled
// field, a duplicate field or a wrong type is an error. Field names are case-sensitive (sigs.k8s.io/json),
// unlike encoding/json.
var strictCodec = serializerjson.NewSerializerWithOptions(serializerjson.DefaultMetaFactory, scheme, scheme,
	serializerjson.SerializerOptions{Yaml: true, Strict: true})

// customKinds are the CloudNativePG resources, decoded strictly into the subset of their schema that kefu
// writes (cnpg_test.go): a field outside it, misspelled or not, fails until the struct learns it.
var customKinds = map[schema.GroupVersionKind]func() any{
	{Group: "postgresql.cnpg.io", Version: "v1", Kind: "Cluster"}:         func() any { return new(cnpgCluster) },
	{Group: "postgresql.cnpg.io", Version: "v1", Kind: "ScheduledBackup"}: func() any { return new(cnpgScheduledBackup) },
}

// object is one decoded manifest.
type object struct {
	GVK  schema.GroupVersionKind
	Name string
	// Namespace is empty where no kustomization set one.
	Namespace string
	// Obj is a pointer to the typed object: *appsv1.Deployment, *cnpgCluster, ...
	Obj any
}

// rendering is what one kustomization produced, decoded.
type rendering struct {
	Dir     string
	Objects []object
}

// renderYAML runs kustomize in process on dir and returns each resulting object's YAML.
func renderYAML(dir string) ([][]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out [][]byte
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, r.CurId(), err)
		}
		out = append(out, y)
	}
	return out, nil
}

// render builds dir and decodes every object strictly.
func render(dir string) (*rendering, error) {
	docs, err := renderYAML(dir)
	if err != nil {
		return nil, err
	}
	return decodeAll(dir, docs)
}

// decodeAll decodes docs strictly, every error joined.
func decodeAll(dir string, docs [][]byte) (*rendering, error) {
	r := &rendering{Dir: dir}
	var errs []error
	for _, d := range docs {
		o, err := decode(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.Objects = append(r.Objects, o)
	}
	return r, errors.Join(errs...)
}

// decode decodes one YAML document into its typed object.
func decode(doc []byte) (object, error) {
	var head struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return object{}, fmt.Errorf("read kind: %w", err)
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return object{}, fmt.Errorf("%s %s: %w", head.Kind, head.Metadata.Name, err)
	}
	o := object{GVK: gv.WithKind(head.Kind), Name: head.Metadata.Name, Namespace: head.Metadata.Namespace}
	where := fmt.Sprintf("%s %s", o.GVK.Kind, o.Name)
	if newObj, ok := customKinds[o.GVK]; ok {
		o.Obj = newObj()
		if err := decodeStrict(doc, o.Obj); err != nil {
			return object{}, fmt.Errorf("%s: %w", where, err)
		}
		return o, nil
	}
	obj, gvk, err := strictCodec.Decode(doc, nil, nil)
	if err != nil {
		return object{}, fmt.Errorf("%s (%s): %w", where, o.GVK, err)
	}
	if *gvk != o.GVK {
		return object{}, fmt.Errorf("%s: decoded as %s", where, gvk)
	}
	o.Obj = obj
	return o, nil
}

// decodeStrict decodes YAML into v, refusing duplicate keys and any field v does not have (case-sensitive).
func decodeStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// splitDocs splits a multi-document YAML file, dropping empty documents.
func splitDocs(b []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(append([]byte("\n"), b...), []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func stripComments(b []byte) []byte {
	var keep [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			keep = append(keep, l)
		}
	}
	return bytes.Join(keep, []byte("\n"))
}

// all returns the rendering's objects of type T.
func all[T any](r *rendering) []T {
	var out []T
	for _, o := range r.Objects {
		if v, ok := o.Obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// configMap returns the rendered ConfigMap called name, or nil.
func (r *rendering) configMap(name string) *corev1.ConfigMap {
	for _, cm := range all[*corev1.ConfigMap](r) {
		if cm.Name == name {
			return cm
		}
	}
	return nil
}

// repoRoot is the repository's root: the tests run in deploy/.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Dir(wd)
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		return "", fmt.Errorf("repository root %s has no go.work: %w", root, err)
	}
	return root, nil
}

// imageService returns the kefu service an image runs (kefu/intake:1.0 and registry/kefu/intake@sha256:..
// run intake) and its tag, or ok false for another image.
func imageService(image string) (svc, tag string, ok bool) {
	ref := image
	if at := strings.Index(ref, "@"); at >= 0 {
		ref = ref[:at]
	}
	if c := strings.LastIndex(ref, ":"); c > strings.LastIndex(ref, "/") {
		ref, tag = ref[:c], ref[c+1:]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 || parts[len(parts)-2] != "kefu" {
		return "", "", false
	}
	return parts[len(parts)-1], tag, true
}
