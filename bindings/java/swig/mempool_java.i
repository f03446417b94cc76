/* The Java build of swig/mempool.i. SWIG's output (MempoolNative, the JNI
 * class, the struct proxies) goes into package org.mempool with package
 * access only: it takes raw addresses and handles, so code outside the
 * binding must not reach it. The idiomatic classes beside it are the public
 * API, and they check every lifetime before a raw call. */
%include <enumtypeunsafe.swg> /* first, so that the enum modifiers below win */
%typemap(javaclassmodifiers) SWIGTYPE, SWIGTYPE *, SWIGTYPE &, SWIGTYPE [], SWIGTYPE (CLASS::*) "final class"
%typemap(javaclassmodifiers) enum SWIGTYPE "final class"
%pragma(java) moduleclassmodifiers="final class"
%pragma(java) jniclassclassmodifiers="final class"
/* SWIG would put the header's #define constants in a public interface,
 * MempoolNativeConstants; Java reads none of them (Mempool.versionNumber()
 * asks the library), so they are left out. */
%rename("$ignore", %$isconstant) "";
%include "mempool.i"
