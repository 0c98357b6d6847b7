// Command loop-k8s is one binary (hyperkube style) holding every part of the
// single-node test cluster that scripts/setup-k8s.sh starts: it dispatches on
// its first argument (or on the name it was called by, so a symlink named
// kubectl works):
//
//	kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl
//	                 the Kubernetes v1.34.4 commands, unchanged
//	etcd             an embedded etcd v3.6 server (the datastore)
//	certs            the cluster's CA, certificates, keys and kubeconfigs
//	oci-image        packs one static binary as an OCI image archive
//	cri-cleanup      stops and removes every pod sandbox of a CRI runtime
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	_ "time/tzdata" // for CronJob time zones, as kube-apiserver's and kube-controller-manager's mains

	"github.com/spf13/cobra"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var commands = map[string]func(args []string) int{
	"kube-apiserver":          func([]string) int { return runCobra(apiserver.NewAPIServerCommand()) },
	"kube-controller-manager": func([]string) int { return runCobra(controllermanager.NewControllerManagerCommand()) },
	"kube-scheduler":          func([]string) int { return runCobra(scheduler.NewSchedulerCommand()) },
	"kubelet":                 func([]string) int { return runCobra(kubelet.NewKubeletCommand(context.Background())) },
	"kubectl":                 runKubectl,
	"etcd":                    runEtcd,
	"certs":                   runCerts,
	"oci-image":               runOCIImage,
	"cri-cleanup":             runCRICleanup,
}

func runCobra(c *cobra.Command) int { return cli.Run(c) }

func runKubectl(args []string) int {
	logs.GlogSetter(kubectlcmd.GetLogVerbosity(args)) // nolint:errcheck
	c := kubectlcmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(c); err != nil {
		kubectlutil.CheckErr(err)
	}
	return 0
}

func main() {
	name := filepath.Base(os.Args[0])
	if _, ok := commands[name]; !ok {
		if len(os.Args) < 2 {
			usage()
		}
		name = os.Args[1]
		// The commands read os.Args themselves (cobra, flag): drop the
		// subcommand so they see their own arguments only.
		os.Args = append([]string{os.Args[0] + " " + name}, os.Args[2:]...)
	}
	run, ok := commands[name]
	if !ok {
		usage()
	}
	os.Exit(run(os.Args))
}

func usage() {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	fmt.Fprintf(os.Stderr, "usage: %s COMMAND [ARGS]; commands: %s\n", filepath.Base(os.Args[0]), strings.Join(sorted(names), ", "))
	os.Exit(2)
}

func sorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}
