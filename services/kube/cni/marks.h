/* marks.h - how the CNI plugin (cairn-ovn.c) marks the pods' logical ports in the northbound
 * database (external_ids), shared with the kube controller that collects the ports no DEL
 * removed (services/kube/podports.c). */
#ifndef CAIRN_CNI_MARKS_H
#define CAIRN_CNI_MARKS_H

#define KUBE_CNI_OWNER_KEY "cairn:owner"
#define KUBE_CNI_OWNER "cairn-cni"
#define KUBE_CNI_CONTAINER_KEY "cairn:container"   /* the sandbox the port is for */
#define KUBE_CNI_NAMESPACE_KEY "k8s:namespace"
#define KUBE_CNI_POD_KEY "k8s:pod"

#endif
