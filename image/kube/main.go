// Cairn's Kubernetes binary: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
// kube-proxy and kubectl linked into one program, chosen by the name it is run as (the image
// installs /usr/bin/kube and a symbolic link per component) or by its first argument
// (`kube kubectl get nodes`).
//
// Why: the six programs share most of their code. Linked separately they are 433 MB, and a node
// booted from PXE or ISO holds its whole root image in RAM; linked once they are about a third
// of that, the text pages are shared between the components running on a node, and the build
// links once instead of six times.
//
// Each entry does what the component's own cmd/NAME/NAME.go main does in Kubernetes 1.20.
package main

import (
	goflag "flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/restclient"
	_ "k8s.io/component-base/metrics/prometheus/version"

	_ "k8s.io/client-go/plugin/pkg/client/auth"
	kubectl "k8s.io/kubectl/pkg/cmd"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

type component struct {
	command func() *cobra.Command
	// normalize: the component's main sets WordSepNormalizeFunc on pflag.CommandLine;
	// goflags: it also adds the Go flag set (klog's flags) to it.
	normalize, goflags bool
	// stderr: klog writes to standard error (what kubectl's own logs package sets; kubectl's
	// main uses that package, whose init registers the flag component-base/logs registers, so
	// both cannot be linked into one program: component-base/logs serves every component here)
	stderr bool
}

var components = map[string]component{
	"kube-apiserver":          {command: apiserver.NewAPIServerCommand},
	"kube-controller-manager": {command: controllermanager.NewControllerManagerCommand},
	"kube-scheduler": {command: func() *cobra.Command { return scheduler.NewSchedulerCommand() },
		normalize: true},
	"kubelet":    {command: kubelet.NewKubeletCommand},
	"kube-proxy": {command: proxy.NewProxyCommand, normalize: true, goflags: true},
	"kubectl":    {command: kubectl.NewDefaultKubectlCommand, normalize: true, goflags: true, stderr: true},
}

func names() []string {
	var n []string
	for name := range components {
		n = append(n, name)
	}
	sort.Strings(n)
	return n
}

func main() {
	name := filepath.Base(os.Args[0])
	c, ok := components[name]
	if !ok && len(os.Args) > 1 {
		if c, ok = components[os.Args[1]]; ok {
			os.Args = os.Args[1:]
		}
	}
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: run as one of %v, or with one of them as the first argument\n",
			name, names())
		os.Exit(2)
	}
	rand.Seed(time.Now().UnixNano())
	command := c.command()
	if c.normalize {
		pflag.CommandLine.SetNormalizeFunc(cliflag.WordSepNormalizeFunc)
	}
	if c.goflags {
		pflag.CommandLine.AddGoFlagSet(goflag.CommandLine)
	}
	if c.stderr {
		goflag.Set("logtostderr", "true")
	}
	logs.InitLogs()
	defer logs.FlushLogs()
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
